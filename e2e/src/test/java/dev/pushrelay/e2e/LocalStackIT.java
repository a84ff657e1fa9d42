package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.topology.Topology;
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

  /**
   * The upstream path end to end: a client publishes on its socket, the backend's subscription on the
   * upstream topic gets it with the verified user (a forged userId inside data changes nothing), the
   * client is answered accepted, and the example backend's echo comes back through the send API.
   */
  @Test
  void aClientPublishReachesTheBackendAndItsEchoComesBack() throws Exception {
    String user = "una-" + java.util.UUID.randomUUID().toString().substring(0, 6);
    try (CollectingSubscription backend = CollectingSubscription.onTopic(stack.probe().clients(),
            Topology.standard().upstreamTopic(), "e2e-" + user);
        TestSocketClient una = connect(1, user)) {
      String connectionId = una.awaitType("connection_established", WAIT).json().get("connectionId").asText();
      una.send("{\"type\":\"publish\",\"id\":\"ask-1\",\"event\":\"echo\","
          + "\"data\":{\"text\":\"hello\",\"userId\":\"mallory\"}}");
      TestSocketClient.Frame answer = una.awaitFrame(f -> "ask-1".equals(f.json().path("id").asText())
          && !f.type().equals("message"), WAIT);
      assertEquals("accepted", answer.type(), answer.json().toString());

      PubsubMessage heard = backend.await(m -> "message".equals(m.getAttributesOrDefault("type", ""))
          && connectionId.equals(m.getAttributesOrDefault("connection_id", "")), WAIT);
      assertEquals(user, heard.getAttributesOrThrow("user_id"));
      assertEquals("node-1", heard.getAttributesOrThrow("node_id"));
      assertEquals("echo", heard.getAttributesOrThrow("event"));
      JsonNode data = JsonCodec.read(heard.getData().toStringUtf8());
      assertEquals(user, data.get("userId").asText());
      assertEquals("mallory", data.at("/data/userId").asText());

      TestSocketClient.Frame echo = una.awaitFrame(f -> f.type().equals("message")
          && "echo".equals(f.json().path("event").asText()), WAIT);
      assertEquals("ask-1", echo.json().at("/data/replyTo").asText());
      assertEquals("hello", echo.json().at("/data/echo/text").asText());
    }
  }

  /**
   * High priority through the whole stack: sent while the user is away (parked, retried on a
   * subscription of their own, with its shorter schedule and more attempts), high messages lead the
   * catch-up of the user's next socket, ahead of older normal ones, and say so in their frame.
   */
  @Test
  void highPriorityMessagesLeadTheCatchUpAndRetryOnTheirOwnSubscription() throws Exception {
    String user = "hana-" + java.util.UUID.randomUUID().toString().substring(0, 6);
    java.util.List<String> ids = new java.util.ArrayList<>();
    for (String priority : java.util.List.of("normal", "normal", "high", "normal", "high")) {
      HttpResponse<String> accepted = stack.send("application/json", "{\"userId\":\"" + user
          + "\",\"event\":\"e\",\"priority\":\"" + priority + "\",\"data\":{\"p\":\"" + priority + "\"}}");
      assertEquals(202, accepted.statusCode(), accepted.body());
      ids.add(LocalStack.json(accepted).get("id").asText());
    }
    try (TestSocketClient hana = connect(2, user)) {
      for (String id : ids) {
        hana.awaitFrame(f -> id.equals(f.json().path("id").asText()), WAIT);
      }
      java.util.List<String> order = hana.messages().stream().map(f -> f.json().get("id").asText()).toList();
      assertEquals(java.util.List.of(ids.get(2), ids.get(4), ids.get(0), ids.get(1), ids.get(3)), order,
          "high first, then normal, each in accept order");
      assertEquals("high", hana.messages().get(0).json().path("priority").asText());
      assertTrue(hana.messages().get(2).json().path("priority").isMissingNode());
    }
    try (com.google.cloud.pubsub.v1.SubscriptionAdminClient admin = stack.probe().clients().subscriptionAdmin()) {
      Topology t = Topology.standard();
      com.google.pubsub.v1.Subscription high = admin.getSubscription(
          stack.probe().clients().subscription(t.high().routerSubscription()));
      com.google.pubsub.v1.Subscription normal = admin.getSubscription(
          stack.probe().clients().subscription(t.routerSubscription()));
      assertTrue(high.getTopic().endsWith("/" + t.high().requestsTopic()));
      assertEquals(t.high().retry().maxBackoffSeconds(), high.getRetryPolicy().getMaximumBackoff().getSeconds());
      assertTrue(high.getRetryPolicy().getMaximumBackoff().getSeconds()
          < normal.getRetryPolicy().getMaximumBackoff().getSeconds(), "a shorter schedule");
      assertTrue(high.getDeadLetterPolicy().getMaxDeliveryAttempts()
          > normal.getDeadLetterPolicy().getMaxDeliveryAttempts(), "more attempts");
      assertEquals(normal.getDeadLetterPolicy().getDeadLetterTopic(), high.getDeadLetterPolicy().getDeadLetterTopic());
      assertEquals(normal.getPushConfig().getPushEndpoint(), high.getPushConfig().getPushEndpoint());
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
