package dev.pushrelay.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
    String deliveriesTopic,
    String deliveriesSubscriptionPrefix,
    String deadLetterTopic,
    String deadLetterHoldSubscription,
    RetrySettings retry,
    int routerAckDeadlineSeconds,
    int deliveriesAckDeadlineSeconds,
    int nodeHeartbeatSeconds,
    int nodeLeaseSeconds,
    int messageRetentionSeconds,
    int defaultTtlSeconds) {

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
    JsonNode r = n.required("retry");
    return new Topology(
        n.required("requestsTopic").asText(),
        n.required("routerSubscription").asText(),
        n.required("deliveriesTopic").asText(),
        n.required("deliveriesSubscriptionPrefix").asText(),
        n.required("deadLetterTopic").asText(),
        n.required("deadLetterHoldSubscription").asText(),
        new RetrySettings(
            r.required("minBackoffSeconds").asInt(),
            r.required("maxBackoffSeconds").asInt(),
            r.required("maxDeliveryAttempts").asInt()),
        n.required("routerAckDeadlineSeconds").asInt(),
        n.required("deliveriesAckDeadlineSeconds").asInt(),
        n.required("nodeHeartbeatSeconds").asInt(),
        n.required("nodeLeaseSeconds").asInt(),
        n.required("messageRetentionSeconds").asInt(),
        n.required("defaultTtlSeconds").asInt());
  }

  /** The same topology with other retry settings (local stack and tests tune these). */
  public Topology withRetry(RetrySettings settings) {
    return new Topology(requestsTopic, routerSubscription, deliveriesTopic, deliveriesSubscriptionPrefix,
        deadLetterTopic, deadLetterHoldSubscription, settings, routerAckDeadlineSeconds,
        deliveriesAckDeadlineSeconds, nodeHeartbeatSeconds, nodeLeaseSeconds, messageRetentionSeconds,
        defaultTtlSeconds);
  }

  public String deliveriesSubscriptionFor(String nodeId) {
    return deliveriesSubscriptionPrefix + nodeId;
  }
}
