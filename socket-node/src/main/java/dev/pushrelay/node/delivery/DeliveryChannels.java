package dev.pushrelay.node.delivery;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import java.time.Duration;
import com.google.pubsub.v1.ExpirationPolicy;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.topology.Topology;
import java.time.Instant;
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

  private final GcpClients clients;
  private final Topology topology;
  private final SubscriptionSweeper sweeper;

  public DeliveryChannels(GcpClients clients, Topology topology, SubscriptionSweeper sweeper) {
    this.clients = clients;
    this.topology = topology;
    this.sweeper = sweeper;
  }

  /** Creates the incarnation's topic and subscription (both kept when they exist already). */
  public NodeSubscription open(String nodeId) {
    String topic = clients.topic(topology.deliveriesTopicFor(nodeId)).toString();
    try (TopicAdminClient topics = clients.topicAdmin()) {
      topics.createTopic(topic);
    } catch (AlreadyExistsException e) {
      // a restart with the same node id reuses it
    }
    String subscription = topology.deliveriesSubscriptionFor(nodeId);
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.createSubscription(Subscription.newBuilder()
          .setName(clients.subscription(subscription).toString())
          .setTopic(topic)
          .setAckDeadlineSeconds(topology.deliveriesAckDeadlineSeconds())
          // one user's deliveries in the order Pub/Sub received them (they are keyed by user)
          .setEnableMessageOrdering(true)
          // never expires: only a sweep that proved it empty deletes it
          .setExpirationPolicy(ExpirationPolicy.getDefaultInstance())
          .build());
    } catch (AlreadyExistsException e) {
      // same
    }
    return new NodeSubscription(clients, subscription, topology.deliveriesAckDeadlineSeconds());
  }

  /** Deletes the topic of {@code nodeId}: from now on a publish to that node fails and is retried elsewhere. */
  public void closeTopic(String nodeId) {
    try (TopicAdminClient topics = clients.topicAdmin()) {
      topics.deleteTopic(clients.topic(topology.deliveriesTopicFor(nodeId)));
    } catch (NotFoundException e) {
      // deleted already, by an earlier attempt
    }
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
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.deleteSubscription(clients.subscription(subscription));
    } catch (NotFoundException e) {
      // already gone
    }
    return sweep;
  }
}
