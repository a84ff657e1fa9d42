package dev.pushrelay.node.cleanup;

import dev.pushrelay.node.delivery.DeliveryChannels;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.delivery.SubscriptionSweeper;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cleans up after node incarnations that died without draining (kill -9, a crashed instance, a node
 * that stalled past its lease and fenced itself): once a node's lease has run out, one live node
 * claims it, retires its delivery channel (topic deleted, subscription swept until empty, then
 * deleted), publishes a {@code disconnected} event ({@code reason=node_lost}) for each socket the
 * registry still lists under it, and removes the node and those connections. A sweep that could not finish keeps the
 * subscription and the node, and a later pass goes on. Runs on a thread of its own, never beside the
 * heartbeat, and only while this node's own lease is healthy: a node that may itself be the one
 * declared dead cleans up nobody. A subscription whose node has no document at all is found by
 * {@link OrphanChannels} and cleaned up the same way.
 */
public final class LapsedNodeCleaner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LapsedNodeCleaner.class);
  /** How long after its lease lapsed a node is cleaned up. */
  static final Duration GRACE = Duration.ofSeconds(3);
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

  private final NodeIdentity identity;
  private final BooleanSupplier leaseHealthy;
  private final RegistryStore registry;
  private final Channels channels;
  private final Upstream upstream;
  private final Clock clock;
  private final OrphanChannels orphans;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "node-cleanup");
    t.setDaemon(true);
    return t;
  });

  public LapsedNodeCleaner(NodeIdentity identity, BooleanSupplier leaseHealthy, RegistryStore registry,
      Channels channels, Upstream upstream, Clock clock) {
    this.identity = identity;
    this.upstream = upstream;
    this.leaseHealthy = leaseHealthy;
    this.registry = registry;
    this.channels = channels;
    this.clock = clock;
    this.orphans = new OrphanChannels(registry, channels::nodesWithSubscriptions);
  }

  /** What the cleanup asks of the delivery channels ({@link DeliveryChannels} in a node). */
  public interface Channels {
    /** Deletes the topic, re-routes what the subscription holds until {@code deadline}, deletes it once empty. */
    SubscriptionSweeper.Sweep retire(String nodeId, Instant deadline);

    /** The nodes that have a delivery subscription now, whatever the registry says of them. */
    List<String> nodesWithSubscriptions();

    static Channels of(BiFunction<String, Instant, SubscriptionSweeper.Sweep> retire,
        Supplier<List<String>> nodesWithSubscriptions) {
      return new Channels() {
        @Override
        public SubscriptionSweeper.Sweep retire(String nodeId, Instant deadline) {
          return retire.apply(nodeId, deadline);
        }

        @Override
        public List<String> nodesWithSubscriptions() {
          return nodesWithSubscriptions.get();
        }
      };
    }
  }

  /** Runs a pass every {@code period}. */
  public void start(Duration period) {
    thread.scheduleWithFixedDelay(this::runOnce, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }

  /** One pass; safe to run on every node at once. */
  public void runOnce() {
    if (!identity.serving() || !leaseHealthy.getAsBoolean()) {
      return;
    }
    Instant now = clock.instant();
    // A little after the lease: routes that read the node as alive have published (or failed) by then.
    Instant before = now.minus(GRACE);
    String self = identity.id();
    orphans.scanIfDue(now);
    try {
      List<String> lapsed = registry.lapsedNodes(before).get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      for (String dead : lapsed) {
        if (dead.equals(self) || !identity.serves(self) || !leaseHealthy.getAsBoolean()) {
          continue;
        }
        if (registry.claimCleanup(dead, self, clock.instant(), before)
            .get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
          clean(dead);
        }
      }
    } catch (Exception e) {
      LOG.warn("cleanup of lapsed nodes failed, next pass retries: {}", e.toString());
    }
  }

  private void clean(String dead) throws Exception {
    // the claim holds for CLEANUP_CLAIM: finish well inside it, or leave the rest to the next pass
    Instant deadline = clock.instant().plus(RegistryStore.CLEANUP_CLAIM).minus(CALL_DEADLINE);
    SubscriptionSweeper.Sweep sweep = channels.retire(dead, deadline);
    if (!sweep.empty()) {
      LOG.warn("node {} lapsed without draining: re-routed {} deliveries so far, its subscription is not empty yet",
          dead, sweep.rerouted());
      return;
    }
    // its sockets' disconnected events first: a pass that cannot publish them all keeps the entries,
    // and the next pass publishes them again (a backend may see one twice, never none)
    List<ConnectionRecord> held = registry.connectionsOn(dead).get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    upstream.nodeLost(held, CALL_DEADLINE).get(2 * CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    registry.removeConnections(held.stream().map(ConnectionRecord::connectionId).toList())
        .get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    registry.removeNode(dead).get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    LOG.warn("node {} lapsed without draining: re-routed {} deliveries, reported {} sockets lost and removed it",
        dead, sweep.rerouted(), held.size());
  }
}
