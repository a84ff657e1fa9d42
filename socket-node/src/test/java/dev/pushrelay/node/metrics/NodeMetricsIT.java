package dev.pushrelay.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.SocketNode;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.testing.MetricsProbe;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A socket node on the emulators with an in-memory metric reader: each instrument moves when its
 * event happens (a connect, an auth failure, a refused origin, a delivery, a duplicate, a re-route, an
 * upstream publish accepted or refused, a connection event),
 * with the right attributes, and {@code /metrics} shows the same figures in Prometheus text.
 */
class NodeMetricsIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Topology TOPOLOGY = Topology.standard();
  private static final String ORIGIN = "https://app.example";
  private static final String NODE = "node-metrics";
  private static GcpClients clients;
  private static MetricsProbe probe;
  private static SocketNode node;
  private static EmulatorProject project;
  private static RelayPublisher publisher;

  @BeforeAll
  static void start() throws Exception {
    project = EmulatorProject.withTopology(TOPOLOGY);
    GcpEndpoints endpoints = project.endpoints();
    clients = project.clients();
    publisher = project.publisher();
    probe = new MetricsProbe("socket-node");
    // local mode: the node serves /metrics, which this test reads
    NodeConfig config = new NodeConfig(0, endpoints, TOPOLOGY, NODE, TestTokens.SECRET.getBytes(StandardCharsets.UTF_8),
        true, Optional.empty(), 100, List.of(ORIGIN));
    node = new SocketNode(config, Clock.systemUTC(), probe.telemetry()).start();
  }

  @AfterAll
  static void stop() {
    node.close();
    project.close();
  }

  private static URI ws() {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws");
  }

  private static Map<String, String> headers(String user) {
    return Map.of("Authorization", "Bearer " + TestTokens.valid(user), "Origin", ORIGIN);
  }

  private static void await(String what, LongSupplier value, long expected) throws Exception {
    AtomicLong seen = new AtomicLong();
    Await.until(what + " at " + expected, WAIT, () -> {
      seen.set(value.getAsLong());
      return seen.get() == expected;
    }, () -> "stayed at " + seen.get());
  }

  @Test
  void refusalsConnectsDeliveriesDuplicatesAndReroutesEachMoveTheirInstrument() throws Exception {
    assertEquals(Optional.of(401), TestSocketClient.refusal(ws(), Map.of("Origin", ORIGIN), WAIT));
    assertEquals(Optional.of(403), TestSocketClient.refusal(ws(),
        Map.of("Authorization", "Bearer " + TestTokens.valid("eve"), "Origin", "https://evil.example"), WAIT));
    assertEquals(1, probe.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "auth_failed"));
    assertEquals(1, probe.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "origin_refused"));
    assertEquals(0, probe.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "accepted"));

    String user = "metrics-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestSocketClient socket = TestSocketClient.connect(ws(), headers(user), WAIT)) {
      socket.awaitType("connection_established", WAIT);
      await("accepted connections", () -> probe.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "accepted"), 1);
      // recorded in the same callback as the accepted count, just after it
      await("connection times", () -> probe.count(RelayMetrics.CONNECTION_TIME), 1);
      await("active connections", () -> probe.value(RelayMetrics.CONNECTIONS_ACTIVE), 1);

      RelayMessage m = new RelayMessage(UUID.randomUUID().toString(), user, "agent_update", "{\"step\":1}",
          Instant.now().minusSeconds(2), 3600, Priority.NORMAL);
      String trace = "0af7651916cd43dd8448eb211c80319c";
      publisher.delivery(NODE, m, Map.of("traceparent", "00-" + trace + "-b7ad6b7169203331-01"))
          .get(5, TimeUnit.SECONDS);
      socket.awaitFrame(f -> f.json().path("id").asText().equals(m.id()), WAIT);
      await("delivered", () -> probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "delivered"), 1);
      assertEquals(1, probe.count(RelayMetrics.DELIVERY_LATENCY, "path", "live"));
      assertTrue(probe.sum(RelayMetrics.DELIVERY_LATENCY) >= 2.0, "latency counts from sentAt");
      await("deliver spans", () -> probe.spans().stream().filter(sp -> sp.getName().equals("relay.deliver")).count(), 1);
      SpanData deliver = probe.spans().get(0);
      assertEquals(trace, deliver.getTraceId(), "the socket write joins the message's trace");
      assertEquals("b7ad6b7169203331", deliver.getParentSpanId());
      assertEquals("delivered", deliver.getAttributes().get(MessageTracing.OUTCOME));

      publisher.delivery(NODE, m).get(5, TimeUnit.SECONDS);
      await("duplicates", () -> probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "duplicate_suppressed"), 1);

      RelayMessage elsewhere = new RelayMessage(UUID.randomUUID().toString(), "nobody-here", "e", null,
          Instant.now(), 3600, Priority.NORMAL);
      publisher.delivery(NODE, elsewhere).get(5, TimeUnit.SECONDS);
      await("re-routed", () -> probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "rerouted"), 1);
      assertEquals(1, probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "delivered"));
      assertEquals(0, probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "failed"));
      assertTrue(probe.value(RelayMetrics.PUBSUB_PUBLISHES, "part", "socket_node", "topic",
          TOPOLOGY.requestsTopic(), "outcome", "ok") >= 1, "the re-route was a publish");
      assertTrue(probe.value(RelayMetrics.FIRESTORE_WRITES, "part", "socket_node") >= 2,
          "heartbeat and connection writes are counted");

      HttpResponse<String> scraped = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + node.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, scraped.statusCode());
      String text = scraped.body();
      assertTrue(text.contains("websocket_connection_attempts_total{outcome=\"accepted\"} 1"), text);
      assertTrue(text.contains("websocket_message_delivery_total{outcome=\"rerouted\"} 1"), text);
      assertTrue(text.contains("websocket_connections_active 1"), text);
      assertTrue(text.contains("relay_delivery_latency_seconds_count{path=\"live\"} 1"), text);

      // upstream: an accepted publish, a refused one, and the socket's connected event
      socket.send("{\"type\":\"publish\",\"id\":\"up-1\",\"event\":\"e\",\"data\":1}");
      socket.awaitFrame(f -> f.type().equals("accepted") && f.json().path("id").asText().equals("up-1"), WAIT);
      socket.send("{\"type\":\"publish\",\"id\":\"up-2\",\"event\":\"bad event\",\"data\":1}");
      socket.awaitFrame(f -> f.type().equals("error") && f.json().path("id").asText().equals("up-2"), WAIT);
      await("upstream accepted", () -> probe.value(RelayMetrics.UPSTREAM_PUBLISHES, "outcome", "accepted"), 1);
      await("upstream refused", () -> probe.value(RelayMetrics.UPSTREAM_PUBLISHES, "outcome", "refused", "code",
          "bad_frame"), 1);
      await("connected events", () -> probe.value(RelayMetrics.CONNECTION_EVENTS, "type", "connected"), 1);
    }
    await("active connections", () -> probe.value(RelayMetrics.CONNECTIONS_ACTIVE), 0);
    await("disconnected events", () -> probe.value(RelayMetrics.CONNECTION_EVENTS, "type", "disconnected"), 1);
  }
}
