package dev.pushrelay.functions.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.functions.FakeHttp;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.route.PushEnvelope;
import dev.pushrelay.functions.route.RouteFunction;
import dev.pushrelay.functions.route.RouteOutcome;
import dev.pushrelay.functions.route.Router;
import dev.pushrelay.functions.send.SendFunction;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.metrics.CountingPublisher;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MetricsProbe;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import dev.pushrelay.testing.InMemoryRevocations;

/** Each function instrument moves when its event happens, with the right attributes. */
class FunctionMetricsTest {
  private final Topology topology = Topology.standard();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final MetricsProbe probe = new MetricsProbe();
  private final RelayMetrics metrics = probe.relayMetrics(Part.ROUTE_FUNCTION);
  private final Router router = new Router(registry, mailbox,
      new RelayPublisher(new CountingPublisher(pubsub, metrics, topology::topicLabel), topology), topology, clock, metrics);

  @AfterEach
  void close() {
    probe.close();
  }

  private PushEnvelope push(String pubsubId, String json) {
    return new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), Map.of(), pubsubId, clock.instant(),
        Optional.empty());
  }

  private void connect(String user, String node) {
    registry.addConnection(new ConnectionRecord("c-" + user, user, node, clock.instant()));
    registry.heartbeat(node, clock.instant(), clock.instant().plusSeconds(12));
  }

  @Test
  void aMessageParkedTwiceThenRoutedCountsOneParkAndThreeAttempts() throws Exception {
    String body = "{\"userId\":\"u1\",\"event\":\"e\"}";
    assertEquals(RouteOutcome.PENDING, router.route(push("ps-1", body)).get());
    assertEquals(RouteOutcome.PENDING, router.route(push("ps-1", body)).get());
    connect("u1", "node-a");
    assertEquals(RouteOutcome.ROUTED, router.route(push("ps-1", body)).get());

    assertEquals(1, probe.value(RelayMetrics.MAILBOX_PARKED));
    assertEquals(1, probe.count(RelayMetrics.ROUTE_ATTEMPTS));
    assertEquals(3.0, probe.sum(RelayMetrics.ROUTE_ATTEMPTS));
    assertEquals(1, probe.value(RelayMetrics.PUBSUB_PUBLISHES, "part", "route_function",
        "topic", "relay-deliveries-*", "outcome", "ok"));
    assertEquals(0, probe.value(RelayMetrics.DEAD_LETTER));
  }

  @Test
  void deadLettersAreCountedByReason() throws Exception {
    router.route(push("ps-bad", "{\"event\":\"no user\"}")).get();
    router.route(push("ps-old", "{\"userId\":\"u2\",\"event\":\"e\",\"ttlSeconds\":1,"
        + "\"sentAt\":\"2025-12-31T00:00:00Z\",\"id\":\"m-old\"}")).get();
    PushEnvelope last = new PushEnvelope("{\"userId\":\"u3\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8),
        Map.of(), "ps-last", clock.instant(), Optional.of(topology.retry().maxDeliveryAttempts()));
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION, router.route(last).get());

    assertEquals(1, probe.value(RelayMetrics.DEAD_LETTER, "reason", "invalid"));
    assertEquals(1, probe.value(RelayMetrics.DEAD_LETTER, "reason", "expired"));
    assertEquals(1, probe.value(RelayMetrics.DEAD_LETTER, "reason", "no_connection_after_retries"));
    assertEquals(3, probe.value(RelayMetrics.PUBSUB_PUBLISHES, "topic", topology.deadLetterTopic()));
  }

  @Test
  void theSendFunctionCountsAcceptedMessagesAndServesThemOnGetMetrics() throws Exception {
    AtomicInteger ids = new AtomicInteger();
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, Optional.empty(),
        List.of());
    SendFunction send = new SendFunction(config, new RelayPublisher(pubsub, topology), registry, new InMemoryMailbox(), new InMemoryRevocations(), clock,
        () -> "id-" + ids.incrementAndGet(), probe.telemetry());
    FakeHttp.Response accepted = new FakeHttp.Response();
    send.service(FakeHttp.request("POST", "/v1/messages", "application/json",
        "{\"userIds\":[\"a\",\"b\",\"c\"],\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8)), accepted);
    assertEquals(202, accepted.status());
    FakeHttp.Response refused = new FakeHttp.Response();
    send.service(FakeHttp.request("POST", "/v1/messages", "application/json",
        "{\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8)), refused);
    assertEquals(400, refused.status());
    assertEquals(3, probe.value(RelayMetrics.MESSAGES_ACCEPTED));

    FakeHttp.Response scraped = new FakeHttp.Response();
    send.service(FakeHttp.request("GET", "/metrics", null, new byte[0]), scraped);
    assertEquals(200, scraped.status());
    assertTrue(scraped.body().contains("relay_messages_accepted_total 3"), scraped.body());
  }

  @Test
  void theRouteFunctionServesMetricsOnItsOwnPort() throws Exception {
    RouteFunction route = new RouteFunction(router, clock, probe.telemetry());
    router.route(push("ps-bad", "{\"event\":\"no user\"}")).get();
    FakeHttp.Response scraped = new FakeHttp.Response();
    route.service(FakeHttp.request("GET", "/metrics", null, new byte[0]), scraped);
    assertEquals(200, scraped.status());
    assertTrue(scraped.body().contains("relay_dead_letter_total{reason=\"invalid\"} 1"), scraped.body());
    FakeHttp.Response other = new FakeHttp.Response();
    route.service(FakeHttp.request("GET", "/", null, new byte[0]), other);
    assertEquals(405, other.status(), "the push endpoint still takes POST only");
  }
}
