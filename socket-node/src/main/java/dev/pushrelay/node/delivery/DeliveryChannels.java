package dev.pushrelay.node.delivery;

import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery channel of each node incarnation: a topic of its own ({@code relay-deliveries-<id>})
 * with one unfiltered subscription of the same name, so a delivery is billed once whatever the fleet
 * size. Opened by the node at start; retired by its drain or by the crash cleanup, topic first: a
 * route that publishes to a retired node then fails and is retried, instead of landing in a
 * subscription nobody reads. The subscription is deleted only once a sweep has found it empty for
 * longer than the ack deadline (see {@link SubscriptionSweeper}); until then it never expires.
 */
public final class DeliveryChannels {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryChannels.class);

  private final DeliveryBroker broker;
  private final Topology topology;
  private final SubscriptionSweeper sweeper;

  public DeliveryChannels(DeliveryBroker broker, Topology topology, SubscriptionSweeper sweeper) {
    this.broker = broker;
    this.topology = topology;
    this.sweeper = sweeper;
  }

  /** Creates the incarnation's topic and subscription (both kept when they exist already). */
  public NodeSubscription open(String nodeId) {
    String subscription = topology.deliveriesSubscriptionFor(nodeId);
    broker.open(topology.deliveriesTopicFor(nodeId), subscription, topology.deliveriesAckDeadlineSeconds());
    return new NodeSubscription(broker, subscription, topology.deliveriesAckDeadlineSeconds());
  }

  /** Deletes the topic of {@code nodeId}: from now on a publish to that node fails and is retried elsewhere. */
  public void closeTopic(String nodeId) {
    broker.deleteTopic(topology.deliveriesTopicFor(nodeId));
  }

  /**
   * The node ids that have a delivery subscription now, live or dead, with a node document or without:
   * one listing of the project's subscriptions.
   */
  public List<String> nodesWithSubscriptions() {
    String prefix = topology.deliveriesSubscriptionFor("");
    return broker.subscriptions(prefix).stream().map(s -> s.substring(prefix.length())).toList();
  }

  /** How long a sweep must find nothing before a subscription counts as empty: longer than any lease. */
  public Duration quietPeriod() {
    return Duration.ofSeconds(topology.deliveriesAckDeadlineSeconds() + 2L);
  }

  /**
   * Retires the channel of {@code nodeId}: deletes its topic, re-routes everything left in its
   * subscription, and deletes the subscription once it is proven empty. A sweep cut short by
   * {@code deadline} keeps the subscription, for a later cleanup to finish.
   */
  public SubscriptionSweeper.Sweep retire(String nodeId, Instant deadline) {
    closeTopic(nodeId);
    String subscription = topology.deliveriesSubscriptionFor(nodeId);
    SubscriptionSweeper.Sweep sweep = sweeper.sweep(subscription, nodeId, quietPeriod(), deadline);
    if (!sweep.empty()) {
      LOG.warn("subscription {} still holds deliveries after re-routing {}: kept for the next cleanup",
          subscription, sweep.rerouted());
      return sweep;
    }
    broker.deleteSubscription(subscription);
    return sweep;
  }
}
