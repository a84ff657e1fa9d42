package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Emptying a dead node's subscription: every delivery re-routed before it is acked, empty only after a quiet period. */
class SubscriptionSweeperTest {
  private static final String TOPIC = "relay-deliveries-topic-dead";
  private static final String SUB = "relay-deliveries-dead";
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final MemoryBroker broker = new MemoryBroker(System::nanoTime);
  private final Topology topology = Topology.standard();
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final SubscriptionSweeper sweeper = new SubscriptionSweeper(broker,
      new BackToRequests(new ParkFirst(mailbox, new RelayPublisher(pubsub, topology), clock),
          RelayMetrics.noop(Part.SOCKET_NODE)), Duration.ofMillis(5));

  private void deliver(String id) {
    RelayMessage m = new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL);
    broker.publish(TOPIC, m.toJson(), Map.of(MessageAttributes.NODE_ID, "dead"));
  }

  @Test
  void everyDeliveryIsReroutedThenAckedAndTheSubscriptionCalledEmpty() {
    broker.open(TOPIC, SUB, 10);
    for (int i = 0; i < 3; i++) {
      deliver("m" + i);
    }
    broker.pullNow(SUB, 1); // one leased to the dead node's puller: the seek gives it back
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(10));
    assertEquals(new SubscriptionSweeper.Sweep(3, true), sweep);
    assertEquals(0, broker.held(SUB));
    List<RecordingPublisher.Published> back = pubsub.on(topology.requestsTopic());
    assertEquals(3, back.size(), "back on the requests topic");
    assertTrue(back.stream().allMatch(p -> "dead".equals(p.message().attributes().get(MessageAttributes.REROUTED_FROM))));
    assertEquals(3, mailbox.entries().size(), "parked first");
  }

  /** A re-route that fails acks nothing: the delivery stays, and the sweep does not call it empty. */
  @Test
  void aFailedRerouteLeavesTheDeliveryAndTheSweepNotEmpty() {
    broker.open(TOPIC, SUB, 10);
    deliver("m0");
    pubsub.failWith(new RuntimeException("Pub/Sub unavailable"));
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(2));
    assertFalse(sweep.empty());
    assertEquals(1, broker.held(SUB), "kept for the next cleanup");
  }

  @Test
  void theDeadlineEndsASweepThatIsNotQuietYet() {
    broker.open(TOPIC, SUB, 10);
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(SUB, "dead", Duration.ofSeconds(30), Instant.now().plusMillis(100));
    assertEquals(new SubscriptionSweeper.Sweep(0, false), sweep, "quiet for 100 ms proves nothing");
  }

  @Test
  void aSubscriptionThatDoesNotExistIsEmpty() {
    assertEquals(new SubscriptionSweeper.Sweep(0, true),
        sweeper.sweep("relay-deliveries-never", "never", Duration.ofSeconds(30), Instant.now().plusSeconds(1)));
  }
}
