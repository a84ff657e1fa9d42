package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Session control on the whole stack, as a user drives it: a token renewed on the open socket keeps it
 * past the first token's end; {@code POST /v1/users/{userId}/disconnect} closes the user's sockets on
 * both nodes with 4001, and with {@code revokeIssuedBefore} refuses the old token at the next handshake;
 * and every socket hears {@code caught_up} after what its mailbox held.
 */
class SessionControlIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static LocalStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(FastRetry.ENV);
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  /** A token signed as the local stack's dev tokens are, issued at {@code iat}, ending at {@code exp}. */
  private static String token(String user, Instant iat, Instant exp) {
    return TestTokens.hs256(LocalStack.DEV_SECRET, new JWTClaimsSet.Builder().subject(user)
        .issueTime(Date.from(iat)).expirationTime(Date.from(exp)).build());
  }

  private static TestSocketClient connect(int node, String token) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node, token), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static void send(String user, String id) throws Exception {
    ObjectNode body = JsonCodec.object();
    body.put("userId", user).put("event", "step").put("id", id);
    body.putObject("data").put("id", id);
    HttpResponse<String> r = stack.send("application/json", JsonCodec.write(body));
    assertEquals(202, r.statusCode(), r.body());
  }

  private static HttpResponse<String> disconnect(String user, String body) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + stack.port("SEND_PORT") + "/v1/users/" + user + "/disconnect");
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body));
    if (!body.isEmpty()) {
      b.header("Content-Type", "application/json");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static TestSocketClient.Frame message(TestSocketClient c, String id) throws Exception {
    return c.awaitFrame(f -> "message".equals(f.type()) && id.equals(f.json().path("id").asText()), WAIT);
  }

  private static void awaitTime(String what, Instant at) throws Exception {
    Await.until(what, Duration.between(Instant.now(), at).plus(WAIT), () -> !Instant.now().isBefore(at));
  }

  @Test
  void aTokenRenewedOnTheSocketKeepsItOpenPastTheFirstTokensEnd() throws Exception {
    String user = "renewed-" + System.nanoTime();
    Instant start = Instant.now();
    // the node allows 30 s of clock skew: left alone, this socket closes 38 s after connect
    try (TestSocketClient c = connect(1, token(user, start, start.plusSeconds(8)))) {
      c.awaitType("caught_up", WAIT);
      awaitTime("2 s after connect", start.plusSeconds(2));
      c.send("{\"type\":\"auth\",\"token\":\"" + token(user, Instant.now(), Instant.now().plusSeconds(600)) + "\"}");
      TestSocketClient.Frame ok = c.awaitType("auth_ok", WAIT);
      assertTrue(Instant.parse(ok.json().path("expiresAt").asText()).isAfter(start.plusSeconds(500)), ok.json().toString());

      // another user's token is refused, and the socket keeps its user
      String other = token("someone-else-" + System.nanoTime(), Instant.now(), Instant.now().plusSeconds(600));
      c.send("{\"type\":\"auth\",\"token\":\"" + other + "\"}");
      TestSocketClient.Frame refused = c.awaitFrame(f -> "error".equals(f.type())
          && "auth_failed".equals(f.json().path("code").asText()), WAIT);
      assertTrue(refused.json().path("message").asText().length() > 0);
      send(user, user + "-after-refusal");
      message(c, user + "-after-refusal");

      awaitTime("40 s after connect", start.plusSeconds(40));
      assertTrue(c.isOpen(), "open past the first token's end (+ skew)");
      send(user, user + "-at-40s");
      message(c, user + "-at-40s");
    }
  }

  @Test
  void aDisconnectClosesTheUsersSocketsOnBothNodesAndARevocationRefusesTheOldToken() throws Exception {
    String user = "disconnected-" + System.nanoTime();
    Instant issued = Instant.now().minusSeconds(60).truncatedTo(ChronoUnit.SECONDS);
    String old = token(user, issued, Instant.now().plusSeconds(600));
    TestSocketClient a = connect(1, old);
    TestSocketClient b = connect(2, old);
    TestSocketClient bystander = connect(1, token("bystander-" + System.nanoTime(), issued, Instant.now().plusSeconds(600)));
    try {
      a.awaitType("caught_up", WAIT);
      b.awaitType("caught_up", WAIT);
      Instant asked = Instant.now();
      HttpResponse<String> r = disconnect(user, "");
      assertEquals(202, r.statusCode(), r.body());
      assertEquals(2, LocalStack.json(r).path("nodes").asInt(), r.body());
      assertEquals(4001, a.awaitClose(Duration.ofSeconds(3)));
      assertEquals(4001, b.awaitClose(Duration.ofSeconds(3)));
      assertTrue(Duration.between(asked, Instant.now()).compareTo(Duration.ofSeconds(3)) < 0);
      assertTrue(bystander.isOpen(), "another user's socket stays");

      // a plain disconnect revokes nothing: the same token connects again
      TestSocketClient again = connect(2, old);
      again.awaitType("caught_up", WAIT);
      Instant revokeBefore = Instant.now().minusSeconds(5).truncatedTo(ChronoUnit.SECONDS);
      HttpResponse<String> revoked = disconnect(user, "{\"revokeIssuedBefore\":\"" + revokeBefore + "\"}");
      assertEquals(202, revoked.statusCode(), revoked.body());
      assertEquals(4001, again.awaitClose(Duration.ofSeconds(3)));

      // each node learns of the revocation from its watch, within about a second of the write (the README's
      // promise): node 1 held no socket of the user, so nothing but its watch tells it
      for (int node : List.of(1, 2)) {
        Await.until("the old token refused 401 on node " + node, Duration.ofSeconds(3), () -> Optional.of(401)
            .equals(Unchecked.get(() -> TestSocketClient.refusal(stack.socket(node, old), Map.of(), WAIT))));
      }
      try (TestSocketClient fresh = connect(1, token(user, Instant.now(), Instant.now().plusSeconds(600)))) {
        fresh.awaitType("caught_up", WAIT);
        send(user, user + "-fresh");
        message(fresh, user + "-fresh");
      }

      assertEquals(400, disconnect("..", "").statusCode(), "not a user id");
      assertEquals(400, disconnect(user, "{\"revokeIssuedBefore\":\"" + Instant.now().plusSeconds(3600) + "\"}")
          .statusCode(), "in the future");
      assertEquals(400, disconnect(user, "{\"revokeIssuedBefore\":\"soon\"}").statusCode(), "not a time");
      HttpResponse<String> unknown = disconnect("nobody-" + System.nanoTime(), "");
      assertEquals(202, unknown.statusCode(), unknown.body());
      assertEquals(0, LocalStack.json(unknown).path("nodes").asInt());
    } finally {
      a.close();
      b.close();
      bystander.close();
    }
  }

  @Test
  void everySocketIsCaughtUpAfterWhatItsMailboxHeld() throws Exception {
    String user = "caught-up-" + System.nanoTime();
    List<String> ids = List.of(user + "-1", user + "-2", user + "-3");
    for (String id : ids) {
      send(user, id); // nobody online: parked in the user's mailbox before the 202
    }
    try (TestSocketClient c = connect(2, stack.devToken(2, user))) {
      TestSocketClient.Frame caughtUp = c.awaitType("caught_up", WAIT);
      assertEquals(3, caughtUp.json().path("count").asInt(), c.frames().toString());
      List<String> before = c.frames().stream()
          .takeWhile(f -> !"caught_up".equals(f.type()))
          .filter(f -> "message".equals(f.type()))
          .map(f -> f.json().path("id").asText())
          .toList();
      assertEquals(ids, before, "the mailbox's messages, in order, before caught_up");
    }
    try (TestSocketClient empty = connect(1, stack.devToken(1, "nothing-parked-" + System.nanoTime()))) {
      assertEquals(0, empty.awaitType("caught_up", WAIT).json().path("count").asInt());
    }
  }
}
