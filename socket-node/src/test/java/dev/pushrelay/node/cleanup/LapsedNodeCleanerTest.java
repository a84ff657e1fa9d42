package dev.pushrelay.node.cleanup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.delivery.SubscriptionSweeper;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The crash cleanup with an in-memory registry, a recorded channel and a held publisher: a lapsed node
 * is claimed, its channel retired, its sockets reported {@code node_lost}, and only then its entries
 * removed; whatever cannot be finished is left for the next pass.
 */
class LapsedNodeCleanerTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final NodeIdentity identity = new NodeIdentity("live");
  private final HeldPublisher pubsub = new HeldPublisher();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final List<String> retired = new ArrayList<>();
  private final AtomicBoolean sweepsEmpty = new AtomicBoolean(true);
  private final AtomicBoolean ownLeaseHealthy = new AtomicBoolean(true);
  /** The nodes the channels hold a subscription for. */
  private final List<String> subscribed = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final LapsedNodeCleaner cleaner = new LapsedNodeCleaner(identity, ownLeaseHealthy::get, registry,
      LapsedNodeCleaner.Channels.of((node, deadline) -> {
        retired.add(node);
        return new SubscriptionSweeper.Sweep(3, sweepsEmpty.get());
      }, () -> List.copyOf(subscribed)),
      new Upstream(pubsub, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE), MessageTracing.noop(), timers),
      clock);

  @AfterEach
  void stop() {
    timers.shutdownNow();
    cleaner.close();
  }

  /** A node "dead" whose lease ran out a minute ago, holding two sockets; and this live node. */
  private void deadNodeWithTwoSockets() {
    identity.serve();
    registry.heartbeat("live", clock.instant(), clock.instant().plusSeconds(12));
    registry.heartbeat("dead", clock.instant().minusSeconds(72), clock.instant().minusSeconds(60));
    registry.addConnection(new ConnectionRecord("c1", "u1", "dead", clock.instant().minusSeconds(90)));
    registry.addConnection(new ConnectionRecord("c2", "u2", "dead", clock.instant().minusSeconds(80)));
    registry.addConnection(new ConnectionRecord("c3", "u3", "live", clock.instant().minusSeconds(10)));
  }

  /**
   * A delivery subscription whose node has no document is handed to the cleanup once two scans at least
   * {@link OrphanChannels#ORPHAN_AFTER} apart found it so, and is then retired like a lapsed node's; a
   * node that writes its document between the scans (one that was starting) is left alone.
   */
  @Test
  void aSubscriptionWhoseNodeHasNoDocumentIsRetiredAfterTwoScans() {
    identity.serve();
    registry.heartbeat("live", clock.instant(), clock.instant().plus(Duration.ofHours(1)));
    subscribed.addAll(List.of("live", "orphan", "starting"));
    cleaner.runOnce();
    assertEquals(List.of(), retired, "one scan proves nothing");

    registry.heartbeat("starting", clock.instant(), clock.instant().plus(Duration.ofHours(1)));
    clock.advance(OrphanChannels.SCAN_EVERY);
    cleaner.runOnce();
    clock.advance(LapsedNodeCleaner.GRACE.plusSeconds(1));
    cleaner.runOnce();
    assertEquals(List.of("orphan"), retired);
    assertEquals(Set.of("orphan"), registry.withoutDocument(subscribed).join(),
        "the orphan's document went with it; the live and the started node keep theirs");
  }

  @Test
  void aLapsedNodesSocketsAreReportedLostBeforeTheyAreRemoved() {
    deadNodeWithTwoSockets();
    cleaner.runOnce();
    assertEquals(List.of("dead"), retired);
    assertEquals(List.of("disconnected", "disconnected"), pubsub.types());
    assertTrue(pubsub.published().stream().allMatch(m -> "node_lost".equals(m.attributes().get("reason"))));
    assertEquals(Set.of("c3"), registry.connections().keySet(), "the live node's socket stays");
    assertTrue(registry.lapsedNodes(clock.instant()).join().isEmpty(), "the dead node is gone");
  }

  @Test
  void eventsThatCannotBePublishedKeepTheEntriesForTheNextPass() throws Exception {
    deadNodeWithTwoSockets();
    pubsub.hold();
    Thread pass = new Thread(cleaner::runOnce);
    pass.start();
    Await.until("both events held by Pub/Sub", Duration.ofSeconds(5), () -> pubsub.waiting() >= 2);
    timers.shutdownNow(); // no retry within this pass: the next pass starts them again
    pubsub.fail(new RuntimeException("Pub/Sub unavailable"));
    join(pass);
    assertTrue(!pass.isAlive(), "the pass ended on the failure");
    assertEquals(Set.of("c1", "c2", "c3"), registry.connections().keySet());
    assertEquals(List.of("dead"), registry.lapsedNodes(clock.instant()).join());
  }

  private static void join(Thread t) {
    try {
      t.join(Duration.ofSeconds(15).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void aSubscriptionNotYetEmptyKeepsTheNodeAndItsSockets() {
    deadNodeWithTwoSockets();
    sweepsEmpty.set(false);
    cleaner.runOnce();
    assertEquals(List.of("dead"), retired);
    assertEquals(List.of(), pubsub.types(), "no socket is reported before the channel is retired");
    assertEquals(Set.of("c1", "c2", "c3"), registry.connections().keySet());
  }

  @Test
  void aNodeWhoseOwnLeaseIsUnhealthyCleansUpNobody() {
    deadNodeWithTwoSockets();
    ownLeaseHealthy.set(false);
    cleaner.runOnce();
    assertEquals(List.of(), retired);
    assertEquals(Set.of("c1", "c2", "c3"), registry.connections().keySet());
  }
}
