package dev.pushrelay.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pushrelay.model.Priority;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Names of topics and subscriptions and the retry settings: the one source of truth, read from
 * {@code config/topology.json}, which Terraform reads as well.
 */
public record Topology(
    String requestsTopic,
    String routerSubscription,
    String deliveriesTopicPrefix,
    String deliveriesSubscriptionPrefix,
    String deadLetterTopic,
    String deadLetterHoldSubscription,
    RetrySettings retry,
    int routerAckDeadlineSeconds,
    int deliveriesAckDeadlineSeconds,
    int nodeHeartbeatSeconds,
    int nodeLeaseSeconds,
    int messageRetentionSeconds,
    int defaultTtlSeconds,
    String upstreamTopic,
    Lane high) {

  /**
   * The retry path of {@code high} priority messages: a topic and a router subscription of their own,
   * with a shorter backoff and more attempts than the normal one.
   */
  public record Lane(String requestsTopic, String routerSubscription, RetrySettings retry) {}

  private static final String RESOURCE = "/dev/pushrelay/topology/topology.json";

  public Topology {
    if (nodeLeaseSeconds < 2 * nodeHeartbeatSeconds) {
      throw new IllegalArgumentException("nodeLeaseSeconds must be at least twice nodeHeartbeatSeconds");
    }
  }

  /** The topology shipped with the build. */
  public static Topology standard() {
    try (InputStream in = Topology.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing classpath resource " + RESOURCE);
      }
      return parse(new ObjectMapper().readTree(in));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  static Topology parse(JsonNode n) {
    return new Topology(
        n.required("requestsTopic").asText(),
        n.required("routerSubscription").asText(),
        n.required("deliveriesTopicPrefix").asText(),
        n.required("deliveriesSubscriptionPrefix").asText(),
        n.required("deadLetterTopic").asText(),
        n.required("deadLetterHoldSubscription").asText(),
        retry(n),
        n.required("routerAckDeadlineSeconds").asInt(),
        n.required("deliveriesAckDeadlineSeconds").asInt(),
        n.required("nodeHeartbeatSeconds").asInt(),
        n.required("nodeLeaseSeconds").asInt(),
        n.required("messageRetentionSeconds").asInt(),
        n.required("defaultTtlSeconds").asInt(),
        n.required("upstreamTopic").asText(),
        lane(n.required("highPriority")));
  }

  private static Lane lane(JsonNode n) {
    return new Lane(n.required("requestsTopic").asText(), n.required("routerSubscription").asText(), retry(n));
  }

  private static RetrySettings retry(JsonNode n) {
    JsonNode r = n.required("retry");
    return new RetrySettings(r.required("minBackoffSeconds").asInt(), r.required("maxBackoffSeconds").asInt(),
        r.required("maxDeliveryAttempts").asInt());
  }

  /** The same topology with other retry settings (local stack and tests tune these). */
  public Topology withRetry(RetrySettings settings) {
    return new Topology(requestsTopic, routerSubscription, deliveriesTopicPrefix, deliveriesSubscriptionPrefix,
        deadLetterTopic, deadLetterHoldSubscription, settings, routerAckDeadlineSeconds,
        deliveriesAckDeadlineSeconds, nodeHeartbeatSeconds, nodeLeaseSeconds, messageRetentionSeconds,
        defaultTtlSeconds, upstreamTopic, high);
  }

  /** Where a request of this priority is retried: its own topic for {@code high}. */
  public String requestsTopicFor(Priority priority) {
    return priority == Priority.HIGH ? high.requestsTopic() : requestsTopic;
  }

  /** The retry settings of this priority's router subscription. */
  public RetrySettings retryFor(Priority priority) {
    return priority == Priority.HIGH ? high.retry() : retry;
  }

  /**
   * The retry settings of the subscription that pushed a request ({@code projects/p/subscriptions/name}):
   * what Pub/Sub will do with it, whatever its priority (a high request published straight to
   * {@code relay-requests}, or replayed there, is retried on the normal schedule). An unknown or empty
   * name falls back to the priority's own.
   */
  public RetrySettings retryFor(String subscription, Priority priority) {
    if (subscription.endsWith("/" + high.routerSubscription())) {
      return high.retry();
    }
    if (subscription.endsWith("/" + routerSubscription)) {
      return retry;
    }
    return retryFor(priority);
  }

  /**
   * The delivery topic of one node incarnation, created by the node at start and deleted by its drain
   * or by the crash cleanup: a delivery costs one Pub/Sub delivery whatever the fleet size, and a route
   * that publishes to a node already cleaned up fails (NOT_FOUND) and is retried instead of vanishing.
   */
  public String deliveriesTopicFor(String nodeId) {
    return deliveriesTopicPrefix + nodeId;
  }

  /** True for a node's delivery topic: one that comes and goes with its node. */
  public boolean isDeliveriesTopic(String topic) {
    return topic.startsWith(deliveriesTopicPrefix);
  }

  /** The topic as a metric label: every node's delivery topic counts under one name. */
  public String topicLabel(String topic) {
    return isDeliveriesTopic(topic) ? deliveriesTopicPrefix + "*" : topic;
  }

  public String deliveriesSubscriptionFor(String nodeId) {
    return deliveriesSubscriptionPrefix + nodeId;
  }
}
