package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.node.MemoryNode;
import dev.pushrelay.node.config.Exposure;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The handshake's refusals, each before the upgrade, on a whole node over loopback with an in-memory
 * cloud, a {@link MemoryNode} (the emulator-backed {@code SocketNodeSecurityIT} covers every case with the
 * real registry).
 */
class SocketCreatorTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String ORIGIN = "https://app.example";
  private static MemoryNode node;

  @BeforeAll
  static void start() throws Exception {
    node = new MemoryNode(List.of(ORIGIN), SocketLimits.defaults().withMaxConnectionsPerUser(2, 30));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static URI ws() {
    return node.ws();
  }

  private static Optional<Integer> refusal(Map<String, String> headers, List<String> protocols) throws Exception {
    return TestSocketClient.refusal(ws(), headers, protocols, WAIT);
  }

  @Test
  void aForeignOriginIsRefused403() throws Exception {
    assertEquals(Optional.of(403), refusal(Map.of("Origin", "https://evil.example",
        "Authorization", "Bearer " + TestTokens.valid("u1")), List.of()));
  }

  @Test
  void noTokenOrABadOneIsRefused401() throws Exception {
    assertEquals(Optional.of(401), refusal(Map.of("Origin", ORIGIN), List.of()));
    assertEquals(Optional.of(401), refusal(Map.of("Origin", ORIGIN, "Authorization", "Bearer nope"), List.of()));
    assertEquals(Optional.of(401), refusal(Map.of("Origin", ORIGIN, "Authorization", "Basic dTpw"), List.of()));
  }

  @Test
  void aTokenGivenTwoWaysIsRefused400() throws Exception {
    String token = TestTokens.valid("u2");
    assertEquals(Optional.of(400), refusal(Map.of("Origin", ORIGIN, "Authorization", "Bearer " + token),
        List.of("bearer." + token)));
  }

  /** The token as a subprotocol is taken, and the protocol echoed exactly as offered. */
  @Test
  void theBearerSubprotocolIsEchoed() throws Exception {
    String protocol = "bearer." + TestTokens.valid("u3");
    try (TestSocketClient c = TestSocketClient.connect(ws(), Map.of("Origin", ORIGIN), List.of(protocol), WAIT)) {
      c.awaitType("connection_established", WAIT);
      assertEquals(protocol, c.acceptedSubprotocol());
    }
  }

  /**
   * A user at their cap on this node (2 sockets here) is refused 429, within the handshake rate limit's
   * burst, so it is the cap that refuses; the node keeps room for others.
   */
  @Test
  void aUserAtTheCapIsRefused429() throws Exception {
    Map<String, String> headers = Map.of("Origin", ORIGIN, "Authorization", "Bearer " + TestTokens.valid("busy"));
    List<TestSocketClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        TestSocketClient c = TestSocketClient.connect(ws(), headers, WAIT);
        c.awaitType("connection_established", WAIT);
        open.add(c);
      }
      assertEquals(Optional.of(429), refusal(headers, List.of()));
      assertEquals(Optional.empty(), refusal(Map.of("Origin", ORIGIN,
          "Authorization", "Bearer " + TestTokens.valid("other")), List.of()));
    } finally {
      open.forEach(TestSocketClient::close);
    }
  }

  /**
   * Behind Cloud Run's front end (one trusted hop), a client that writes a new first hop into
   * {@code X-Forwarded-For} on every handshake is still one address: the hop the front end appended.
   * 300 handshakes without a token, as fast as they go: the address's burst of 100 answers 401, then 429.
   */
  @Test
  void forgedFirstHopsAreOneAddressAndMeet429() throws Exception {
    try (MemoryNode cloud = new MemoryNode(List.of(), SocketLimits.defaults(), Exposure.cloud())) {
      int first429 = -1;
      int refused429 = 0;
      for (int i = 0; i < 300; i++) {
        String forged = "10." + (i >> 8) + "." + (i & 0xff) + ".1, 198.51.100.20";
        Optional<Integer> status = TestSocketClient.refusal(cloud.ws(), Map.of("X-Forwarded-For", forged), WAIT);
        if (status.equals(Optional.of(429))) {
          refused429++;
          first429 = first429 < 0 ? i : first429;
        } else {
          assertEquals(Optional.of(401), status, "no token: refused, but counted against the address");
        }
      }
      assertTrue(first429 >= 100, "the burst of 100 first: " + first429);
      assertTrue(refused429 >= 100, "then 429, but for the refill of 20 a second: " + refused429);
      assertEquals(Optional.of(401), TestSocketClient.refusal(cloud.ws(),
          Map.of("X-Forwarded-For", "10.0.0.1, 198.51.100.21"), WAIT), "another client is not held back");
    }
  }
}
