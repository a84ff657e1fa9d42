package dev.pushrelay.functions.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.functions.FakeHttp;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.route.RouteFunction;
import dev.pushrelay.functions.route.Router;
import dev.pushrelay.functions.send.SendFunction;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MetricsProbe;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import dev.pushrelay.testing.InMemoryRevocations;

/** One trace per message: the caller's trace continues through the send function into the route function's deliveries. */
class FunctionTracingTest {
  private static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private final Topology topology = Topology.standard();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final MetricsProbe probe = new MetricsProbe();

  @AfterEach
  void close() {
    probe.close();
  }

  private static String envelope(OutboundMessage m, String pubsubId) {
    ObjectNode root = JsonCodec.object();
    ObjectNode message = root.putObject("message");
    message.put("data", Base64.getEncoder().encodeToString(m.data().getBytes(StandardCharsets.UTF_8)));
    message.put("messageId", pubsubId);
    ObjectNode attributes = message.putObject("attributes");
    m.attributes().forEach(attributes::put);
    return JsonCodec.write(root);
  }

  @Test
  void theCallersTraceRunsFromTheSendThroughEveryRouteAttemptToTheDelivery() throws Exception {
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, Optional.empty(),
        List.of());
    SendFunction send = new SendFunction(config, new RelayPublisher(pubsub, topology), registry, new InMemoryMailbox(), new InMemoryRevocations(), clock, () -> "m-1",
        probe.telemetry());
    FakeHttp.Response accepted = new FakeHttp.Response();
    send.service(FakeHttp.request("POST", "/v1/messages", "application/json",
            "{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8))
        .header("traceparent", "00-" + CALLER_TRACE + "-00f067aa0ba902b7-01"), accepted);
    assertEquals(202, accepted.status());
    OutboundMessage request = pubsub.on(topology.requestsTopic()).get(0).message();
    assertEquals(Optional.of(CALLER_TRACE), MessageTracing.traceId(request.attributes()),
        "the request carries the caller's trace");

    Router router = new Router(registry, new InMemoryMailbox(), new RelayPublisher(pubsub, topology), topology,
        clock, RelayMetrics.noop(Part.ROUTE_FUNCTION));
    RouteFunction route = new RouteFunction(router, clock, probe.telemetry());
    FakeHttp.Response parked = new FakeHttp.Response();
    route.service(FakeHttp.request("POST", "/", "application/json",
        envelope(request, "ps-1").getBytes(StandardCharsets.UTF_8)), parked);
    assertEquals(503, parked.status(), "no socket yet: retry");
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-a", clock.instant()));
    registry.heartbeat("node-a", clock.instant(), clock.instant().plusSeconds(12));
    FakeHttp.Response routed = new FakeHttp.Response();
    route.service(FakeHttp.request("POST", "/", "application/json",
        envelope(request, "ps-1").getBytes(StandardCharsets.UTF_8)), routed);
    assertEquals(204, routed.status());

    OutboundMessage delivery = pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).get(0).message();
    assertEquals(Optional.of(CALLER_TRACE), MessageTracing.traceId(delivery.attributes()),
        "the delivery carries the same trace to the node");
    List<SpanData> spans = probe.spans();
    assertEquals(List.of("relay.send", "relay.route", "relay.route"), spans.stream().map(SpanData::getName).toList());
    assertTrue(spans.stream().allMatch(s -> s.getTraceId().equals(CALLER_TRACE)), "one trace: " + spans);
    SpanData sendSpan = spans.get(0);
    assertEquals("00f067aa0ba902b7", sendSpan.getParentSpanId());
    assertTrue(spans.subList(1, 3).stream().allMatch(s -> s.getParentSpanId().equals(sendSpan.getSpanId())),
        "each route attempt is a child of the send");
    assertEquals("m-1", spans.get(2).getAttributes().get(MessageTracing.MESSAGE_ID));
    assertEquals("routed", spans.get(2).getAttributes().get(MessageTracing.OUTCOME));
    assertTrue(delivery.attributes().get("traceparent").contains(spans.get(2).getSpanId()),
        "the delivery's parent is the attempt that routed it");
  }
}
