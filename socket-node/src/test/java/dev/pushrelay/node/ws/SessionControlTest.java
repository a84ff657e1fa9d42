package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.testing.TestTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Session control on one socket: a token renewed in band ({@code auth}), checked off the socket's events
 * and applied as one; a disconnect order (4001); {@code caught_up} after the catch-up and before what was
 * held back during it.
 */
class SessionControlTest {
  private static final Instant START = SocketFixture.START;
  private final SocketFixture node = new SocketFixture();

  @AfterEach
  void stop() {
    node.close();
  }

  private static String token(String user, Instant issuedAt, Instant expires) {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(user).expirationTime(Date.from(expires));
    if (issuedAt != null) {
      claims.issueTime(Date.from(issuedAt));
    }
    return TestTokens.hs256(TestTokens.SECRET, claims.build());
  }

  private static String auth(String token) {
    return "{\"type\":\"auth\",\"token\":\"" + token + "\"}";
  }

  private static List<JsonNode> framesOf(SocketFixture.Socket s, String type) {
    return s.sent().stream().map(SessionControlTest::json).filter(f -> type.equals(f.path("type").asText())).toList();
  }

  private static JsonNode json(String text) {
    try {
      return JsonCodec.read(text);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A live socket of u1 whose handshake token runs out a minute from now. */
  private SocketFixture.Socket shortLived() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1", START.plusSeconds(60));
    node.advance(Duration.ofSeconds(1)); // past settling
    return s;
  }

  @Test
  void aRenewalIsVerifiedOffTheSocketsEventsThenMovesTheExpiry() throws Exception {
    SocketFixture.Socket s = shortLived();
    Instant exp = START.plusSeconds(600); // before the socket's age limit
    s.text(auth(token("u1", START, exp)));
    assertEquals(List.of(), framesOf(s, "auth_ok"), "nothing verified on the socket's events");
    node.verifyRenewals();
    List<JsonNode> ok = framesOf(s, "auth_ok");
    assertEquals(1, ok.size(), s.sent().toString());
    // exp plus the clock skew, in the format of the other frames' times
    assertEquals(exp.plusSeconds(30).toString(), ok.get(0).path("expiresAt").asText());
    node.advanceInTicks(Duration.ofSeconds(120));
    assertEquals(List.of(), s.jetty().closes(), "past the first token's expiry, still open");
    node.advance(Duration.ofSeconds(600));
    assertEquals(List.of(1008), s.jetty().closes(), "closed at the new token's expiry");
  }

  @Test
  void aTokenOfAnotherUserIsRefusedAndTheSocketKeepsItsExpiryAndUser() throws Exception {
    SocketFixture.Socket s = shortLived();
    s.text(auth(token("u2", START, START.plusSeconds(3600))));
    node.verifyRenewals();
    JsonNode error = framesOf(s, "error").get(0);
    assertEquals("auth_failed", error.path("code").asText());
    assertEquals(List.of(), framesOf(s, "auth_ok"));
    assertEquals("u1", s.connection().userId());
    node.advanceInTicks(Duration.ofSeconds(95));
    assertEquals(List.of(1008), s.jetty().closes(), "the first token's expiry holds");
  }

  @Test
  void aBadTokenIsRefusedAuthFailedAndAMalformedFrameBadFrameAndTheSocketStays() throws Exception {
    SocketFixture.Socket s = shortLived();
    s.text(auth("not-a-jwt"));
    s.text(auth(token("u1", START, START.minusSeconds(120)))); // expired
    s.text("{\"type\":\"auth\"}");
    s.text("{\"type\":\"auth\",\"token\":42}");
    s.text("{\"type\":\"auth\",\"token\":\"x\",\"extra\":1}");
    node.verifyRenewals();
    List<String> codes = framesOf(s, "error").stream().map(f -> f.path("code").asText()).toList();
    assertEquals(List.of("bad_frame", "bad_frame", "bad_frame", "auth_failed", "auth_failed"), codes);
    assertEquals(List.of(), s.jetty().closes());
    assertTrue(s.sent().stream().noneMatch(f -> f.contains("not-a-jwt")), "the token is never echoed");
  }

  @Test
  void aRenewalWithATokenIssuedBeforeTheUsersRevocationIsRefused() throws Exception {
    SocketFixture.Socket s = shortLived();
    node.revocations.revoke("u1", START.plusSeconds(10));
    s.text(auth(token("u1", START, START.plusSeconds(3600))));
    s.text(auth(token("u1", null, START.plusSeconds(3600)))); // says nothing of when: refused too
    node.verifyRenewals();
    assertEquals(2, framesOf(s, "error").size(), s.sent().toString());
    s.text(auth(token("u1", START.plusSeconds(20), START.plusSeconds(3600))));
    node.verifyRenewals();
    assertEquals(1, framesOf(s, "auth_ok").size(), s.sent().toString());
  }

  @Test
  void renewalsCountAgainstTheInboundRateLimit() throws Exception {
    try (SocketFixture strict = new SocketFixture(SocketLimits.defaults().withInboundRate(1, 2), null, null, 10)) {
      SocketFixture.Socket s = strict.live("u1");
      String t = token("u1", START, START.plusSeconds(3600));
      for (int i = 0; i < 3; i++) {
        s.text(auth(t));
      }
      assertEquals(2, strict.renewalQueue.size(), "the third was refused before any verification");
      assertTrue(s.sent().stream().anyMatch(f -> f.contains("rate_limited")));
    }
  }

  @Test
  void aDisconnectClosesEverySocketOfTheUserWith4001AndNoOther() throws Exception {
    SocketFixture.Socket a = node.live("u1");
    SocketFixture.Socket b = node.live("u1");
    SocketFixture.Socket other = node.live("u2");
    JettySocket notOpenYet = node.handshake("u1");
    assertEquals(3, node.hub.closeUser("u1", SocketClose.DISCONNECTED));
    assertEquals(List.of(4001), a.jetty().closes());
    assertEquals(List.of(4001), b.jetty().closes());
    assertEquals(List.of(), other.jetty().closes());
    dev.pushrelay.testing.RecordingSession late = new dev.pushrelay.testing.RecordingSession();
    notOpenYet.onWebSocketOpen(late.session());
    assertEquals(List.of(4001), late.closes(), "a handshake under way is closed with 4001 as it opens");
    assertEquals(0, node.hub.closeUser("nobody", SocketClose.DISCONNECTED));
  }

  @Test
  void caughtUpFollowsTheMailboxsMessagesWithTheirCountAndPrecedesWhatWasHeldBack() throws Exception {
    CompletableFuture<Void> answer = new CompletableFuture<>();
    // p1 handed twice (a second look finding its own claim): written and counted once
    List<RelayMessage> parked = List.of(SocketFixture.acceptedAt("p1", 1), SocketFixture.acceptedAt("p2", 2),
        SocketFixture.acceptedAt("p3", 3), SocketFixture.acceptedAt("p1", 1));
    try (SocketFixture f = new SocketFixture(SocketLimits.defaults(), null, (user, id, caughtUp) -> caughtUp
        ? CompletableFuture.completedFuture(SocketFixture.nothing())
        : answer.thenApply(v -> SocketFixture.found(parked, new java.util.ArrayList<>())), 10)) {
      f.identity.serve();
      SocketFixture.Socket s = f.open("u1");
      s.connection().deliver(SocketFixture.acceptedAt("live1", 5));
      answer.complete(null);
      f.advance(Duration.ofSeconds(2)); // the second look, then live
      List<String> types = s.sent().stream().map(t -> json(t).path("type").asText()).toList();
      assertEquals(List.of("connection_established", "message", "message", "message", "caught_up", "message"), types);
      assertEquals(List.of("p1", "p2", "p3", "live1"), s.messageIds());
      assertEquals(3, framesOf(s, "caught_up").get(0).path("count").asInt());
    }
  }

  /**
   * A catch-up longer than the send window, to a client that reads slowly: {@code caught_up} still comes
   * behind every mailbox message, never on the urgent lane ahead of those waiting.
   */
  @Test
  void caughtUpComesBehindEveryMailboxMessageOfALongCatchUp() throws Exception {
    List<RelayMessage> parked = java.util.stream.IntStream.range(0, 40)
        .mapToObj(i -> SocketFixture.acceptedAt("p" + i, i)).toList();
    try (SocketFixture f = SocketFixture.serving((user, id, caughtUp) -> CompletableFuture.completedFuture(
        caughtUp ? SocketFixture.nothing() : SocketFixture.found(parked, new java.util.ArrayList<>())))) {
      JettySocket c = f.handshake("u1");
      dev.pushrelay.testing.RecordingSession jetty = new dev.pushrelay.testing.RecordingSession();
      jetty.holdWrites();
      c.onWebSocketOpen(jetty.session());
      jetty.releaseWrites();
      List<String> types = jetty.sent().stream().map(t -> json(t).path("type").asText()).toList();
      assertEquals(List.of("connection_established"), types.subList(0, 1));
      assertEquals(java.util.Collections.nCopies(40, "message"), types.subList(1, 41));
      assertEquals("caught_up", types.get(41), types.toString());
    }
  }

  /**
   * A catch-up in pages asks for the next page only once the last is written to the network (a socket holds
   * one page of a large mailbox at a time), from where the last one ended; {@code caught_up} counts every
   * page and comes after the last.
   */
  @Test
  void aPagedCatchUpReadsTheNextPageOnceTheLastIsWritten() throws Exception {
    dev.pushrelay.mailbox.MailboxCursor end = new dev.pushrelay.mailbox.MailboxCursor(SocketFixture.START, "p1");
    List<dev.pushrelay.mailbox.MailboxCursor> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
    NodeSockets.CatchUp pages = new NodeSockets.CatchUp() {
      @Override
      public CompletableFuture<MailboxLook> look(String user, String connectionId, boolean caughtUp) {
        MailboxLook first = SocketFixture.found(List.of(SocketFixture.acceptedAt("p0", 0),
            SocketFixture.acceptedAt("p1", 1)), new java.util.ArrayList<>());
        return CompletableFuture.completedFuture(caughtUp ? SocketFixture.nothing()
            : new MailboxLook(first.found(), java.util.Optional.empty(), java.util.Optional.of(end)));
      }

      @Override
      public CompletableFuture<MailboxLook> next(String user, String connectionId,
          dev.pushrelay.mailbox.MailboxCursor after) {
        asked.add(after);
        return CompletableFuture.completedFuture(SocketFixture.found(List.of(SocketFixture.acceptedAt("p2", 2)),
            new java.util.ArrayList<>()));
      }
    };
    try (SocketFixture f = SocketFixture.serving(pages)) {
      JettySocket c = f.handshake("u1");
      dev.pushrelay.testing.RecordingSession jetty = new dev.pushrelay.testing.RecordingSession();
      jetty.holdWrites();
      c.onWebSocketOpen(jetty.session());
      assertEquals(List.of(), asked, "the first page is not written yet");
      assertEquals(Connection.State.CATCHING_UP, c.connection().state());
      jetty.releaseWrites();
      assertEquals(List.of(end), asked, "the next page, from where the first ended");
      List<String> types = jetty.sent().stream().map(t -> json(t).path("type").asText()).toList();
      assertEquals(List.of("connection_established", "message", "message", "message", "caught_up"), types);
      assertEquals(3, json(jetty.sent().get(4)).path("count").asInt());
    }
  }

  @Test
  void aSocketWithAnEmptyMailboxIsCaughtUpWithZero() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    assertEquals(0, framesOf(s, "caught_up").get(0).path("count").asInt(), s.sent().toString());
  }

  @Test
  void heldMessagesWaitUntilTheCaughtUpFrameIsWritten() throws Exception {
    node.identity.serve();
    JettySocket c = node.handshake("u1");
    dev.pushrelay.testing.RecordingSession jetty = new dev.pushrelay.testing.RecordingSession();
    jetty.holdWrites();
    c.onWebSocketOpen(jetty.session());
    c.connection().deliver(SocketFixture.acceptedAt("live1", 5));
    node.advance(Duration.ofSeconds(2));
    assertEquals(Connection.State.SETTLING, c.connection().state(), "held back while caught_up waits to be written");
    assertTrue(jetty.sent().stream().noneMatch(f -> f.contains("live1")), jetty.sent().toString());
  }

  @Test
  void aVerifiedTokenCarriesItsIssueTime() {
    assertEquals(Optional.empty(), new VerifiedToken("u1", START).issuedAt());
  }
}
