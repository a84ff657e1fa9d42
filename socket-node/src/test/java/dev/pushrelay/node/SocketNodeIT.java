package dev.pushrelay.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.firestore.DocumentSnapshot;
import com.google.pubsub.v1.PubsubMessage;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.pushrelay.gcp.FirestoreRegistryStore;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One socket node on port 0 against the real emulators, driven by the real Jetty WebSocket client. */
class SocketNodeIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Topology TOPOLOGY = Topology.standard();
  private static GcpClients clients;
  private static SocketNode node;
  private static EmulatorProject project;
  private static RelayPublisher publisher;

  @BeforeAll
  static void start() throws Exception {
    project = EmulatorProject.withTopology(TOPOLOGY);
    GcpEndpoints endpoints = project.endpoints();
    clients = project.clients();
    publisher = project.publisher();
    NodeConfig config = new NodeConfig(0, endpoints, TOPOLOGY, "node-it", TestTokens.SECRET.getBytes(StandardCharsets.UTF_8),
        true, Optional.empty(), 100, List.of());
    node = new SocketNode(config, Clock.systemUTC()).start();
  }

  @AfterAll
  static void stop() {
    node.close();
    project.close();
  }

  private static URI ws(String query) {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws" + query);
  }

  private static TestSocketClient connect(String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(ws(""), Map.of("Authorization", "Bearer " + TestTokens.valid(user)),
        WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static RelayMessage message(String user, String data) {
    return new RelayMessage(UUID.randomUUID().toString(), user, "agent_update", data, Instant.now(), 3600,
        Priority.NORMAL);
  }

  @Test
  void registersBeforeSayingEstablishedAndDeliversRoutedMessages() throws Exception {
    try (TestSocketClient c = TestSocketClient.connect(ws("?access_token=" + TestTokens.valid("alice")), Map.of(),
        WAIT)) {
      TestSocketClient.Frame established = c.awaitType("connection_established", WAIT);
      assertEquals("alice", established.json().get("userId").asText());
      assertEquals("node-it", established.json().get("nodeId").asText());
      assertEquals("ready", established.json().get("status").asText());
      String connectionId = established.json().get("connectionId").asText();
      DocumentSnapshot doc = clients.firestore().collection(FirestoreRegistryStore.CONNECTIONS)
          .document(connectionId).get().get(5, TimeUnit.SECONDS);
      assertTrue(doc.exists(), "committed before connection_established");
      assertEquals("alice", doc.getString("userId"));
      assertEquals("node-it", doc.getString("nodeId"));

      RelayMessage m = message("alice", "{\"step\":3}");
      publisher.delivery("node-it", m).get(5, TimeUnit.SECONDS);
      TestSocketClient.Frame frame = c.awaitType("message", WAIT);
      assertEquals(m.id(), frame.json().get("id").asText());
      assertEquals("agent_update", frame.json().get("event").asText());
      assertEquals(3, frame.json().at("/data/step").asInt());
    }
  }

  /**
   * Order on one socket: deliveries of one user, published one after another (each after Pub/Sub took
   * the previous one), are written in that order: keyed by user on an ordered subscription, handed
   * over by one pull in the order of its answer, written in the order handed over. The first ones come
   * while the socket settles, are held and written in accept order; the rest are written as they come.
   */
  @Test
  void oneUsersDeliveriesAreWrittenInTheOrderTheyWerePublished() throws Exception {
    try (TestSocketClient c = connect("olivia")) {
      int count = 300;
      for (int n = 1; n <= count; n++) {
        publisher.delivery("node-it", new RelayMessage("olivia-" + n, "olivia", "step", "{\"n\":" + n + "}",
            Instant.now(), 3600, Priority.NORMAL)).get(5, TimeUnit.SECONDS);
      }
      c.awaitFrame(f -> "message".equals(f.type()) && f.json().at("/data/n").asInt() == count, WAIT);
      List<Integer> order = c.messages().stream().map(f -> f.json().at("/data/n").asInt()).toList();
      assertEquals(java.util.stream.IntStream.rangeClosed(1, count).boxed().toList(), order);
    }
  }

  @Test
  void aUserNeverReceivesAnotherUsersMessages() throws Exception {
    try (TestSocketClient bob = connect("bob"); TestSocketClient carol = connect("carol")) {
      RelayMessage forBob = message("bob", "\"b\"");
      RelayMessage forCarol = message("carol", "\"c\"");
      publisher.delivery("node-it", forBob).get(5, TimeUnit.SECONDS);
      publisher.delivery("node-it", forCarol).get(5, TimeUnit.SECONDS);
      bob.awaitFrame(f -> f.json().path("id").asText().equals(forBob.id()), WAIT);
      carol.awaitFrame(f -> f.json().path("id").asText().equals(forCarol.id()), WAIT);
      assertEquals(List.of(forBob.id()), bob.messages().stream().map(f -> f.json().get("id").asText()).toList());
      assertEquals(List.of(forCarol.id()), carol.messages().stream().map(f -> f.json().get("id").asText()).toList());
    }
  }

  @Test
  void aDeliveryForAUserWhoLeftIsRoutedAgainNotDropped() throws Exception {
    try (CollectingSubscription requests = CollectingSubscription.onTopic(clients, TOPOLOGY.requestsTopic(),
        "it-requests-" + UUID.randomUUID())) {
      RelayMessage m = message("dave", "1");
      publisher.delivery("node-it", m).get(5, TimeUnit.SECONDS);
      PubsubMessage back = requests.await(p -> m.id().equals(p.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, "")),
          WAIT);
      assertEquals("node-it", back.getAttributesOrThrow(MessageAttributes.REROUTED_FROM));
      assertEquals(m, RelayMessage.parse(back.getData().toByteArray()));
    }
  }

  @Test
  void refusesBadTokensBeforeTheUpgrade() throws Exception {
    String expired = TestTokens.hs256(TestTokens.SECRET, new JWTClaimsSet.Builder().subject("eve")
        .expirationTime(Date.from(Instant.now().minusSeconds(120))).build());
    String wrongKey = TestTokens.hs256("another-secret-that-is-also-32-bytes-long", new JWTClaimsSet.Builder()
        .subject("eve").expirationTime(Date.from(Instant.now().plusSeconds(60))).build());
    String noExp = TestTokens.hs256(TestTokens.SECRET, new JWTClaimsSet.Builder().subject("eve").build());
    String algNone = new PlainJWT(new PlainHeader(), new JWTClaimsSet.Builder().subject("eve")
        .expirationTime(Date.from(Instant.now().plusSeconds(60))).build()).serialize();
    for (String query : List.of("", "?access_token=garbage", "?access_token=" + expired, "?access_token=" + wrongKey,
        "?access_token=" + noExp, "?access_token=" + algNone)) {
      assertEquals(Optional.of(401), TestSocketClient.refusal(ws(query), Map.of(), WAIT), query);
    }
    // the node still serves a normal user afterwards
    try (TestSocketClient ok = connect("frank")) {
      assertTrue(ok.isOpen());
    }
  }

  @Test
  void answersPingAndExplainsBadFrames() throws Exception {
    try (TestSocketClient c = connect("gina")) {
      c.send("{\"type\":\"ping\"}");
      c.awaitType("pong", WAIT);
      c.send("not json");
      assertEquals("bad_frame", c.awaitType("error", WAIT).json().get("code").asText());
    }
  }

  @Test
  void readyAndHealthy() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
        + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("\"subscription_pulling\":true"));
    HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
        + "/")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertFalse(page.body().isEmpty());
  }
}
