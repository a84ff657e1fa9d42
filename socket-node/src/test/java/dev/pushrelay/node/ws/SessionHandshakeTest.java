package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.pushrelay.node.MemoryNode;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Revocations at the handshake and a renewal over a real socket, on a whole node over loopback with an
 * in-memory cloud ({@link MemoryNode}).
 */
class SessionHandshakeTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static MemoryNode node;

  @BeforeAll
  static void start() throws Exception {
    node = new MemoryNode(List.of(), SocketLimits.defaults());
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static String token(String user, Instant issuedAt) {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(user)
        .expirationTime(Date.from(Instant.now().plusSeconds(600)));
    if (issuedAt != null) {
      claims.issueTime(Date.from(issuedAt));
    }
    return TestTokens.hs256(TestTokens.SECRET, claims.build());
  }

  private static Map<String, String> bearer(String token) {
    return Map.of("Authorization", "Bearer " + token);
  }

  @Test
  void aTokenIssuedBeforeTheUsersRevocationIsRefused401AndANewerOneTaken() throws Exception {
    Instant revokedAt = Instant.now().minusSeconds(5);
    node.revocations.revoke("revoked", revokedAt);
    assertEquals(Optional.of(401), TestSocketClient.refusal(node.ws(), bearer(token("revoked", revokedAt.minusSeconds(60))), WAIT));
    assertEquals(Optional.of(401), TestSocketClient.refusal(node.ws(), bearer(token("revoked", null)), WAIT),
        "no iat while a revocation holds: refused");
    try (TestSocketClient c = TestSocketClient.connect(node.ws(), bearer(token("revoked", revokedAt.plusSeconds(1))), WAIT)) {
      c.awaitType("connection_established", WAIT);
    }
    try (TestSocketClient c = TestSocketClient.connect(node.ws(), bearer(token("not-revoked", null)), WAIT)) {
      c.awaitType("connection_established", WAIT);
    }
  }

  /**
   * A revocation the node learns of after a socket connected (one that reached it while the revocation
   * was not known here yet): the sockets holding older tokens close with 4001, newer ones stay.
   */
  @Test
  void aRevocationSeenAfterTheHandshakeClosesTheSocketsItCovers() throws Exception {
    Instant issued = Instant.now().minusSeconds(30);
    try (TestSocketClient older = TestSocketClient.connect(node.ws(), bearer(token("late", issued)), WAIT);
        TestSocketClient newer = TestSocketClient.connect(node.ws(), bearer(token("late", Instant.now())), WAIT);
        TestSocketClient other = TestSocketClient.connect(node.ws(), bearer(token("bystander", issued)), WAIT)) {
      older.awaitType("connection_established", WAIT);
      newer.awaitType("connection_established", WAIT);
      other.awaitType("connection_established", WAIT);
      node.revocations.revoke("late", issued.plusSeconds(10));
      assertEquals(4001, older.awaitClose(WAIT));
      assertTrue(newer.isOpen(), "a token issued after the revocation's instant keeps its socket");
      assertTrue(other.isOpen(), "another user's socket stays");
    }
  }

  /** A registry that does not answer: refused 503 well within the second every handshake is answered in. */
  @Test
  void aRevocationReadThatDoesNotAnswerIsRefused503WithinASecond() throws Exception {
    node.revocations.hang(true);
    try {
      long started = System.nanoTime();
      assertEquals(Optional.of(503), TestSocketClient.refusal(node.ws(), bearer(token("slow", Instant.now())), WAIT));
      long tookMs = (System.nanoTime() - started) / 1_000_000;
      assertTrue(tookMs < 1000, "answered in " + tookMs + " ms");
    } finally {
      node.revocations.hang(false);
    }
  }

  @Test
  void aRenewalOverTheSocketIsAnsweredAuthOkAndCaughtUpCameFirst() throws Exception {
    try (TestSocketClient c = TestSocketClient.connect(node.ws(), bearer(token("renewer", Instant.now())), WAIT)) {
      c.awaitType("connection_established", WAIT);
      assertEquals(0, c.awaitType("caught_up", WAIT).json().path("count").asInt());
      c.send("{\"type\":\"auth\",\"token\":\"" + token("renewer", Instant.now()) + "\"}");
      TestSocketClient.Frame ok = c.awaitType("auth_ok", WAIT);
      assertTrue(Instant.parse(ok.json().path("expiresAt").asText()).isAfter(Instant.now().plusSeconds(500)));
      c.send("{\"type\":\"auth\",\"token\":\"" + token("someone-else", Instant.now()) + "\"}");
      assertEquals("auth_failed", c.awaitType("error", WAIT).json().path("code").asText());
      assertTrue(c.isOpen());
    }
  }
}
