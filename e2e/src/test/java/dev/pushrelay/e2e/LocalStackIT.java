package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.TestSocketClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The README's local stack driven as a user would: curl-like sends, browser-like sockets on both nodes. */
class LocalStackIT {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static LocalStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
    assertTrue(stack.allPortsClosed(), "run-local.sh stops every process it started");
  }

  private static TestSocketClient connect(int node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node, stack.devToken(node, user)), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  @Test
  void aMessageSentThroughTheApiReachesUsersOnEitherNode() throws Exception {
    try (TestSocketClient ana = connect(1, "ana"); TestSocketClient ben = connect(2, "ben")) {
      for (TestSocketClient[] pair : new TestSocketClient[][] {{ana}, {ben}}) {
        String user = pair[0] == ana ? "ana" : "ben";
        Instant sent = Instant.now();
        HttpResponse<String> accepted = stack.send("application/json",
            "{\"userId\":\"" + user + "\",\"event\":\"agent_update\",\"data\":{\"step\":3,\"to\":\"" + user + "\"}}");
        assertEquals(202, accepted.statusCode(), accepted.body());
        String id = LocalStack.json(accepted).get("id").asText();
        TestSocketClient.Frame frame = pair[0].awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
        assertEquals("message", frame.type());
        assertEquals("agent_update", frame.json().get("event").asText());
        assertEquals(user, frame.json().at("/data/to").asText());
        assertTrue(Duration.between(sent, frame.receivedAt()).toMillis() >= 0);
      }
      assertEquals(1, ana.messages().size(), "ana sees only her message");
      assertEquals(1, ben.messages().size(), "ben sees only his message");
    }
  }

  @Test
  void theSendApiAnswersBadInputClearly() throws Exception {
    HttpResponse<String> bad = stack.send("application/json", "{\"userId\":\"u1\"}");
    assertEquals(400, bad.statusCode());
    assertEquals("event", LocalStack.json(bad).at("/error/field").asText());
    assertEquals(415, stack.send("text/plain", "hello").statusCode());
    assertEquals(413, stack.send("application/json", "{\"data\":\"" + "x".repeat(300_000) + "\"}").statusCode());
    assertEquals(405, stack.get(stack.sendUrl()).statusCode());
  }

  /**
   * The README's command serves this machine only: the socket nodes (dev tokens, the demo page), the
   * send and route functions and the emulators answer on 127.0.0.1 and refuse a connection to any other address of the machine.
   */
  @Test
  void theLocalStackListensOnLoopbackOnly() throws Exception {
    java.util.List<java.net.InetAddress> outside = java.util.Collections.list(
            java.net.NetworkInterface.getNetworkInterfaces()).stream()
        .filter(i -> { try { return i.isUp() && !i.isLoopback(); } catch (java.net.SocketException e) { return false; } })
        .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
        .filter(a -> a instanceof java.net.Inet4Address && !a.isLoopbackAddress())
        .toList();
    org.junit.jupiter.api.Assumptions.assumeFalse(outside.isEmpty(), "this machine has no address but loopback");
    for (String port : java.util.List.of("NODE1_PORT", "NODE2_PORT", "SEND_PORT", "ROUTE_PORT", "PUBSUB_PORT", "FIRESTORE_PORT")) {
      try (java.net.Socket inside = new java.net.Socket()) {
        inside.connect(new java.net.InetSocketAddress("127.0.0.1", stack.port(port)), 2000);
      }
      for (java.net.InetAddress address : outside) {
        try (java.net.Socket s = new java.net.Socket()) {
          s.connect(new java.net.InetSocketAddress(address, stack.port(port)), 2000);
          throw new AssertionError(port + " answers on " + address.getHostAddress());
        } catch (java.io.IOException refused) {
          // not listening there: as it should be
        }
      }
    }
  }

  @Test
  void nodesReportReadiness() throws Exception {
    for (int n = 1; n <= 2; n++) {
      HttpResponse<String> ready = stack.get(stack.node(n).resolve("/readyz"));
      assertEquals(200, ready.statusCode(), ready.body());
      assertEquals("node-" + n, LocalStack.json(ready).get("nodeId").asText());
    }
  }
}
