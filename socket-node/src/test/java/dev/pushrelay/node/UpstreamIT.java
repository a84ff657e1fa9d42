package dev.pushrelay.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The upstream path on one node against the emulators: a real WebSocket client publishes, a Pub/Sub
 * subscriber on the upstream topic receives it with the verified user id, and the client is answered
 * {@code accepted} (or an error with the frame's id); every socket's connected and disconnected events.
 */
class UpstreamIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Topology TOPOLOGY = Topology.standard();
  private static EmulatorProject project;
  private static SocketNode node;
  private static CollectingSubscription backend;

  @BeforeAll
  static void start() throws Exception {
    project = EmulatorProject.withTopology(TOPOLOGY);
    backend = CollectingSubscription.onTopic(project.clients(), TOPOLOGY.upstreamTopic(), "upstream-it-backend");
    NodeConfig config = new NodeConfig(0, project.endpoints(), TOPOLOGY, "node-up",
        TestTokens.SECRET.getBytes(StandardCharsets.UTF_8), true, Optional.empty(), 100, List.of());
    node = new SocketNode(config, Clock.systemUTC()).start();
  }

  @AfterAll
  static void stop() {
    node.close();
    backend.close();
    project.close();
  }

  private static TestSocketClient connect(String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(URI.create("ws://127.0.0.1:" + node.port() + "/ws"),
        Map.of("Authorization", "Bearer " + TestTokens.valid(user)), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static String publish(String id, String event, String data) {
    return "{\"type\":\"publish\",\"id\":\"" + id + "\",\"event\":\"" + event + "\",\"data\":" + data + "}";
  }

  /** The answer (accepted or error) to publish {@code id}. */
  private static TestSocketClient.Frame answerTo(TestSocketClient c, String id) throws Exception {
    return c.awaitFrame(f -> id.equals(f.json().path("id").asText())
        && (f.type().equals("accepted") || f.type().equals("error")), WAIT);
  }

  private static PubsubMessage upstreamMessage(String user, String id) throws Exception {
    return backend.await(m -> "message".equals(m.getAttributesOrDefault("type", ""))
        && user.equals(m.getAttributesOrDefault("user_id", ""))
        && m.getData().toStringUtf8().contains("\"id\":\"" + id + "\""), WAIT);
  }

  @Test
  void aPublishReachesTheBackendWithTheVerifiedUserAndIsAcceptedAfterward() throws Exception {
    String user = "uma-" + UUID.randomUUID().toString().substring(0, 6);
    try (TestSocketClient c = connect(user)) {
      String connectionId = c.awaitType("connection_established", WAIT).json().get("connectionId").asText();
      c.send(publish("answer-1", "agent.reply", "{\"userId\":\"mallory\",\"text\":\"yes\"}"));
      assertEquals("accepted", answerTo(c, "answer-1").type());
      PubsubMessage m = upstreamMessage(user, "answer-1");
      assertEquals(connectionId, m.getAttributesOrThrow("connection_id"));
      assertEquals("node-up", m.getAttributesOrThrow("node_id"));
      assertEquals("agent.reply", m.getAttributesOrThrow("event"));
      assertEquals(connectionId, m.getOrderingKey());
      JsonNode data = JsonCodec.read(m.getData().toStringUtf8());
      assertEquals(user, data.get("userId").asText(), "the token's user, whatever data says");
      assertEquals("mallory", data.at("/data/userId").asText());
      assertEquals("yes", data.at("/data/text").asText());
      assertEquals(connectionId, data.get("connectionId").asText());
      assertTrue(data.get("receivedAt").asText().endsWith("Z"));
    }
  }

  /** A repeat of an accepted id is accepted again and not published again. */
  @Test
  void aRepeatedIdIsAcceptedWithoutASecondPublish() throws Exception {
    String user = "rhea-" + UUID.randomUUID().toString().substring(0, 6);
    try (TestSocketClient c = connect(user)) {
      c.send(publish("same", "e", "1"));
      assertEquals("accepted", answerTo(c, "same").type());
      c.send(publish("same", "e", "1"));
      c.awaitFrame(f -> f.type().equals("accepted") && f.json().path("id").asText().equals("same")
          && c.frames().stream().filter(g -> g.type().equals("accepted")).count() == 2, WAIT);
      c.send(publish("after", "e", "2"));
      assertEquals("accepted", answerTo(c, "after").type());
      upstreamMessage(user, "after"); // published after the repeat, on the same ordering key
      long copies = backend.received().stream()
          .filter(m -> user.equals(m.getAttributesOrDefault("user_id", "")))
          .filter(m -> m.getData().toStringUtf8().contains("\"id\":\"same\"")).count();
      assertEquals(1, copies, "one publish for the id, however often it was sent");
    }
  }

  /** Refusals name the frame's id and leave the socket open; nothing refused reaches the backend. */
  @Test
  void aRefusedPublishIsAnsweredWithItsIdAndNeverPublished() throws Exception {
    String user = "remy-" + UUID.randomUUID().toString().substring(0, 6);
    try (TestSocketClient c = connect(user)) {
      c.send(publish("bad-event", "no spaces allowed", "1"));
      TestSocketClient.Frame bad = answerTo(c, "bad-event");
      assertEquals("error", bad.type());
      assertEquals("bad_frame", bad.json().get("code").asText());
      c.send(publish("big", "e", "\"" + "x".repeat(17 * 1024) + "\""));
      TestSocketClient.Frame big = answerTo(c, "big");
      assertEquals("too_large", big.json().get("code").asText());
      c.send(publish("fine", "e", "1"));
      assertEquals("accepted", answerTo(c, "fine").type(), "the socket is still open and taking publishes");
      upstreamMessage(user, "fine");
      assertEquals(List.of("fine"), backend.received().stream()
          .filter(m -> user.equals(m.getAttributesOrDefault("user_id", "")))
          .filter(m -> "message".equals(m.getAttributesOrDefault("type", "")))
          .map(m -> m.getData().toStringUtf8().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1")).toList());
    }
  }

  /** Over the inbound rate limit, every publish still gets exactly one answer: accepted or rate_limited. */
  @Test
  void aBurstOverTheRateLimitIsAnsweredPublishByPublish() throws Exception {
    String user = "rita-" + UUID.randomUUID().toString().substring(0, 6);
    try (TestSocketClient c = connect(user)) {
      int burst = 30; // the default burst is 20 frames
      for (int i = 0; i < burst; i++) {
        c.send(publish("b" + i, "e", Integer.toString(i)));
      }
      Map<String, String> answers = new HashMap<>();
      for (int i = 0; i < burst; i++) {
        TestSocketClient.Frame a = answerTo(c, "b" + i);
        answers.put("b" + i, a.type().equals("accepted") ? "accepted" : a.json().get("code").asText());
      }
      assertTrue(answers.containsValue("rate_limited"), answers.toString());
      assertTrue(answers.containsValue("accepted"), answers.toString());
      assertTrue(answers.values().stream().allMatch(v -> v.equals("accepted") || v.equals("rate_limited")),
          answers.toString());
    }
  }

  /** connected after connection_established, disconnected with the close code and how long it lived. */
  @Test
  void theBackendHearsEachSocketComeAndGo() throws Exception {
    String user = "cleo-" + UUID.randomUUID().toString().substring(0, 6);
    String connectionId;
    try (TestSocketClient c = connect(user)) {
      connectionId = c.awaitType("connection_established", WAIT).json().get("connectionId").asText();
      PubsubMessage connected = backend.await(m -> "connected".equals(m.getAttributesOrDefault("type", ""))
          && user.equals(m.getAttributesOrDefault("user_id", "")), WAIT);
      assertEquals(connectionId, connected.getAttributesOrThrow("connection_id"));
      assertEquals("node-up", connected.getAttributesOrThrow("node_id"));
    }
    String id = connectionId;
    PubsubMessage gone = backend.await(m -> "disconnected".equals(m.getAttributesOrDefault("type", ""))
        && id.equals(m.getAttributesOrDefault("connection_id", "")), WAIT);
    assertEquals("closed", gone.getAttributesOrThrow("reason"));
    assertEquals(user, gone.getAttributesOrThrow("user_id"));
    JsonNode data = JsonCodec.read(gone.getData().toStringUtf8());
    assertEquals(1000, data.get("closeCode").asInt());
    assertTrue(data.get("livedMs").asLong() >= 0);
  }
}
