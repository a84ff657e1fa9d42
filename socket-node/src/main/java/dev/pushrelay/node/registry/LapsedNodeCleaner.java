package dev.pushrelay.node.registry;

import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.node.delivery.SubscriptionSweeper;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.topology.Topology;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cleans up after nodes that died without draining (kill -9, a crashed instance): once a node's
 * lease and the delivery ack deadline have both run out, one live node re-routes what is left in the
 * dead node's subscription, deletes the subscription, and removes the node and its connections.
 * Routes stop going to a dead node when its lease lapses; what it held is routed again a few
 * seconds later.
 */
public final class LapsedNodeCleaner {
  private static final Logger LOG = LoggerFactory.getLogger(LapsedNodeCleaner.class);
  /** How long after its lease lapsed a node is cleaned up. */
  static final Duration GRACE = Duration.ofSeconds(3);

  private final String nodeId;
  private final RegistryStore registry;
  private final GcpClients clients;
  private final SubscriptionSweeper sweeper;
  private final Topology topology;
  private final Clock clock;

  public LapsedNodeCleaner(String nodeId, RegistryStore registry, GcpClients clients, SubscriptionSweeper sweeper,
      Topology topology, Clock clock) {
    this.nodeId = nodeId;
    this.registry = registry;
    this.clients = clients;
    this.sweeper = sweeper;
    this.topology = topology;
    this.clock = clock;
  }

  /** One pass; safe to run on every node at once. */
  public void runOnce() {
    Instant now = clock.instant();
    // A little after the lease: route functions that read the node as alive have published by then.
    Instant before = now.minus(GRACE);
    try {
      List<String> lapsed = registry.lapsedNodes(before).get(10, TimeUnit.SECONDS);
      for (String dead : lapsed) {
        if (!dead.equals(nodeId) && registry.claimCleanup(dead, nodeId, now).get(10, TimeUnit.SECONDS)) {
          clean(dead);
        }
      }
    } catch (Exception e) {
      LOG.warn("cleanup of lapsed nodes failed, next pass retries: {}", e.toString());
    }
  }

  private void clean(String dead) throws Exception {
    String subscription = topology.deliveriesSubscriptionFor(dead);
    int rerouted = sweeper.sweep(subscription, dead);
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.deleteSubscription(clients.subscription(subscription));
    } catch (NotFoundException e) {
      // deleted already
    }
    registry.removeNodeAndConnections(dead).get(10, TimeUnit.SECONDS);
    LOG.warn("node {} lapsed without draining: re-routed {} deliveries and removed it", dead, rerouted);
  }
}
