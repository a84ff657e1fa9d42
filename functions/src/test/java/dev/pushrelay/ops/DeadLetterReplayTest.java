package dev.pushrelay.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.functions.route.PushEnvelope;
import dev.pushrelay.functions.route.RouteOutcome;
import dev.pushrelay.functions.route.Router;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A replayed dead letter is a new request: it keeps its id, its trace context and its sender's
 * attributes, and leaves behind the routing state of the trip that ended in the dead letter, so that
 * it reaches the socket its user holds now.
 */
class DeadLetterReplayTest {
  private static final String DATA = "{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"m1\"}";
  private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  /** A message a client that never acked sent round three times, then dead-lettered after its retries. */
  private static final DeadLetter ROUND_TOO_OFTEN = DeadLetter.of("ps-dead", "ack-1",
      Instant.parse("2026-01-01T00:00:00Z"), DATA, Map.of(
          MessageAttributes.MESSAGE_ID, "m1",
          MessageAttributes.USER_ID, "u1",
          "traceparent", TRACEPARENT,
          "sender_label", "billing",
          MessageAttributes.REROUTES, Integer.toString(MessageAttributes.MAX_REROUTES),
          MessageAttributes.REROUTED_FROM, "node-old",
          MessageAttributes.NO_LIVE_NODE, "true",
          MessageAttributes.PARKED, "true",
          MessageAttributes.REASON, "no_connection_after_retries",
          MessageAttributes.DETAIL, "no connection in 10 attempts"));

  @Test
  void aReplayKeepsTheMessagesOwnAttributesAndDropsTheTripsRoutingState() {
    assertEquals(Map.of(
        MessageAttributes.MESSAGE_ID, "m1",
        MessageAttributes.USER_ID, "u1",
        "traceparent", TRACEPARENT,
        "sender_label", "billing",
        DeadLetterQueue.REPLAYED, "no_connection_after_retries"), DeadLetterQueue.replayAttributes(ROUND_TOO_OFTEN));
  }

  @Test
  void aReplayedMessageReachesTheSocketItsUserHoldsNow() throws Exception {
    Topology topology = Topology.standard();
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T01:00:00Z"));
    InMemoryRegistryStore registry = new InMemoryRegistryStore();
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-now", clock.instant()));
    registry.heartbeat("node-now", clock.instant(), clock.instant().plusSeconds(12));
    RecordingPublisher pubsub = new RecordingPublisher();
    Router router = new Router(registry, new InMemoryMailbox(), new RelayPublisher(pubsub, topology), topology, clock,
        RelayMetrics.noop(Part.ROUTE_FUNCTION));

    assertEquals(RouteOutcome.ROUTED, router.route(new PushEnvelope(DATA.getBytes(StandardCharsets.UTF_8),
        DeadLetterQueue.replayAttributes(ROUND_TOO_OFTEN), "ps-replay", clock.instant(), Optional.of(1))).get());
    assertEquals(1, pubsub.on(topology.deliveriesTopicFor("node-now")).size(), "delivered to the user's node");

    assertEquals(RouteOutcome.PENDING, router.route(new PushEnvelope(DATA.getBytes(StandardCharsets.UTF_8),
        ROUND_TOO_OFTEN.attributes(), "ps-as-it-was", clock.instant(), Optional.of(1))).get(),
        "with the trip's state it would only wait in the mailbox");
  }
}
