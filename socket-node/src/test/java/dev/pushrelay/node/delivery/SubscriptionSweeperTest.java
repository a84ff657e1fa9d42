package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.testing.Seams;
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
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final RelayPublisher publisher = new RelayPublisher(pubsub, topology);
  private final SubscriptionSweeper sweeper = new SubscriptionSweeper(broker,
      new BackToRequests(new ParkFirst(mailbox, publisher, clock), RelayMetrics.noop(Part.SOCKET_NODE)),
      new LiveRoute(registry, publisher, clock), Duration.ofMillis(5));

  /** A sweeper of {@code from} that parks in {@code parkIn} and publishes to {@code pubsub}. */
  private SubscriptionSweeper sweeperOf(DeliveryBroker from, Mailbox parkIn, MessagePublisher pubsub) {
    RelayPublisher p = new RelayPublisher(pubsub, topology);
    return new SubscriptionSweeper(from,
        new BackToRequests(new ParkFirst(parkIn, p, clock), RelayMetrics.noop(Part.SOCKET_NODE)),
        new LiveRoute(registry, p, clock), Duration.ofMillis(5));
  }

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

  /** One entry of a backlog that the mailbox fails to park goes on unparked; the others are parked. */
  @Test
  void aParkThatFailsForOneMessageLeavesTheOthersParked() throws Exception {
    Mailbox failingForM1 = Seams.around(Mailbox.class, mailbox, (self, method, args) -> {
      if (method.getName().equals("parkNew") && ((RelayMessage) args[0]).id().equals("m1")) {
        return java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("UNAVAILABLE"));
      }
      // the default, so that each park comes through here
      return method.getName().equals("parkAllNew") ? java.lang.reflect.InvocationHandler.invokeDefault(self, method,
          args) : Seams.PASS;
    });
    SubscriptionSweeper sweeping = sweeperOf(broker, failingForM1, pubsub);
    broker.open(TOPIC, SUB, 10);
    for (int i = 0; i < 3; i++) {
      deliver("m" + i);
    }
    assertEquals(new SubscriptionSweeper.Sweep(3, true),
        sweeping.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(10)));
    Map<String, String> parked = new java.util.TreeMap<>();
    for (RecordingPublisher.Published p : pubsub.on(topology.requestsTopic())) {
      parked.put(RelayMessage.parse(p.message().data().getBytes(java.nio.charset.StandardCharsets.UTF_8)).id(),
          String.valueOf(p.message().attributes().get(MessageAttributes.PARKED)));
    }
    assertEquals(Map.of("m0", "true", "m1", "null", "m2", "true"), parked,
        "each on the requests topic; m1 not parked, so the route function parks it");
  }

  /** A backlog of large messages whose answer passes what the channel takes is swept in smaller pulls. */
  @Test
  void aBacklogTooLargeForOneAnswerIsSweptInSmallerPulls() {
    broker.open(TOPIC, SUB, 10);
    for (int i = 0; i < 40; i++) {
      deliver("m" + i);
    }
    broker.answersUpTo(10 * 200); // about ten deliveries an answer
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(10));
    assertEquals(new SubscriptionSweeper.Sweep(40, true), sweep);
    assertEquals(40, pubsub.on(topology.requestsTopic()).size());
  }

  /**
   * A user who is back on a live node by the time of the sweep gets the dead node's deliveries on that
   * node's topic, in the order they were pulled, neither parked nor through requests; a user with no
   * live socket gets the park-first way.
   */
  @Test
  void aUserBackOnALiveNodeGetsTheDeliveriesStraightThereInOrder() {
    broker.open(TOPIC, SUB, 10);
    registry.heartbeat("live", clock.instant(), clock.instant().plusSeconds(12)).join();
    registry.addConnection(new ConnectionRecord("c1", "u1", "live", clock.instant())).join();
    for (int i = 0; i < 3; i++) {
      deliver("m" + i);
    }
    RelayMessage away = new RelayMessage("a0", "u2", "e", null, clock.instant(), 3600, Priority.NORMAL);
    broker.publish(TOPIC, away.toJson(), Map.of(MessageAttributes.NODE_ID, "dead"));
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(10));
    assertEquals(new SubscriptionSweeper.Sweep(4, true), sweep);
    List<RecordingPublisher.Published> straight = pubsub.on(topology.deliveriesTopicFor("live"));
    assertEquals(List.of("m0", "m1", "m2"), straight.stream().map(p -> id(p))
        .toList(), "on the live node's topic, in order");
    assertTrue(straight.stream().allMatch(p -> "dead".equals(p.message().attributes().get(MessageAttributes.REROUTED_FROM))));
    assertEquals(List.of("a0"), pubsub.on(topology.requestsTopic()).stream()
        .map(p -> id(p)).toList(), "the user who is away goes back to requests");
    assertEquals(1, mailbox.entries().size(), "only the away user's delivery is parked");
  }

  /**
   * The next pull goes out while a user's deliveries are still being republished; a later pull's
   * deliveries of the same user wait for the ones before, so the live node gets them in order.
   */
  @Test
  void aUsersLaterPullWaitsForItsEarlierRepublishSoTheOrderHolds() throws Exception {
    HeldPublisher held = new HeldPublisher();
    SubscriptionSweeper sweeping = sweeperOf(broker, mailbox, held);
    broker.open(TOPIC, SUB, 10);
    registry.heartbeat("live", clock.instant(), clock.instant().plusSeconds(12)).join();
    registry.addConnection(new ConnectionRecord("c1", "u1", "live", clock.instant())).join();
    for (int i = 0; i < 20; i++) {
      deliver("m" + i);
    }
    broker.answersUpTo(10 * 200); // a few deliveries a pull
    held.hold();
    java.util.concurrent.CompletableFuture<SubscriptionSweeper.Sweep> sweep = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> sweeping.sweep(SUB, "dead", Duration.ofMillis(50), Instant.now().plusSeconds(10)));
    dev.pushrelay.testing.Await.until("every delivery pulled", Duration.ofSeconds(5),
        () -> broker.deliveries("m19") > 0);
    assertEquals(List.of("m0"), held.published().stream().map(SubscriptionSweeperTest::id).toList(),
        "only the first pull's first publish, which Pub/Sub has not answered yet");
    held.release();
    assertEquals(new SubscriptionSweeper.Sweep(20, true), sweep.get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(java.util.stream.IntStream.range(0, 20).mapToObj(i -> "m" + i).toList(),
        held.published().stream().map(SubscriptionSweeperTest::id).toList(), "in the order they were pulled");
  }

  /**
   * An ordered subscription lets a user's next deliveries out only once the ones before are acked: the
   * quiet period that proves the subscription empty runs from that ack, however long the re-route took,
   * not from the last pull that found something.
   */
  @Test
  void theQuietPeriodRunsFromTheLastAckNotFromTheLastPullThatFoundSomething() throws Exception {
    java.util.concurrent.atomic.AtomicInteger pulls = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    DeliveryBroker ordered = Seams.around(DeliveryBroker.class, broker, (self, method, args) -> {
      if (method.getName().equals("pullNow")) {
        pulls.incrementAndGet();
      } else if (method.getName().equals("ack") && released.compareAndSet(false, true)) {
        deliver("m1"); // the user's next delivery, out now that the one before is acked
      }
      return Seams.PASS;
    });
    HeldPublisher held = new HeldPublisher();
    SubscriptionSweeper sweeping = sweeperOf(ordered, mailbox, held);
    broker.open(TOPIC, SUB, 10);
    deliver("m0");
    held.hold();
    java.util.concurrent.CompletableFuture<SubscriptionSweeper.Sweep> sweep = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> sweeping.sweep(SUB, "dead", Duration.ofMillis(100), Instant.now().plusSeconds(10)));
    dev.pushrelay.testing.Await.until("m0 republished, and held", Duration.ofSeconds(5), () -> held.waiting() > 0);
    int before = pulls.get();
    // each empty pull waits its 5 ms pause: 40 of them are more than the 100 ms quiet period
    dev.pushrelay.testing.Await.until("40 empty pulls", Duration.ofSeconds(10), () -> pulls.get() - before >= 40);
    held.release();
    assertEquals(new SubscriptionSweeper.Sweep(2, true), sweep.get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(0, broker.held(SUB), "m1, let out by m0's ack, swept too");
  }

  private static String id(dev.pushrelay.pubsub.OutboundMessage m) {
    try {
      return RelayMessage.parse(m.data().getBytes(java.nio.charset.StandardCharsets.UTF_8)).id();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String id(RecordingPublisher.Published p) {
    try {
      return RelayMessage.parse(p.message().data().getBytes(java.nio.charset.StandardCharsets.UTF_8)).id();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
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
