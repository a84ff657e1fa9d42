package dev.pushrelay.pubsub;

import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.topology.Topology;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Publishes the relay's three kinds of message to the topics the topology names. */
public final class RelayPublisher {
  private final MessagePublisher publisher;
  private final Topology topology;

  public RelayPublisher(MessagePublisher publisher, Topology topology) {
    this.publisher = publisher;
    this.topology = topology;
  }

  /**
   * A request on {@code relay-requests} ({@code relay-requests-high} for high priority), to be routed,
   * under the message's trace context, with {@code extraAttributes}.
   */
  public CompletableFuture<String> request(RelayMessage m, Map<String, String> extraAttributes) {
    Map<String, String> attributes = requestAttributes(m);
    attributes.putAll(extraAttributes);
    return publisher.publish(topology.requestsTopicFor(m.priority()), new OutboundMessage(m.toJson(), attributes));
  }

  /** A request's attributes: the trace context, the message id and the user id. */
  private static Map<String, String> requestAttributes(RelayMessage m) {
    Map<String, String> attributes = new HashMap<>(m.trace());
    attributes.put(MessageAttributes.MESSAGE_ID, m.id());
    attributes.put(MessageAttributes.USER_ID, m.userId());
    return attributes;
  }

  /**
   * A dead letter of a message that has no Pub/Sub message of its own any more (a mailbox entry): the
   * attributes a request of it would carry, and the reason.
   */
  public CompletableFuture<String> deadLetter(RelayMessage m, DeadLetterReason reason, String detail) {
    return deadLetter(m.toJson(), requestAttributes(m), reason, detail);
  }

  /** A delivery on the delivery topic of the node that holds the user, under the message's trace context. */
  public CompletableFuture<String> delivery(String nodeId, RelayMessage m) {
    return delivery(nodeId, m, Map.of());
  }

  /** A delivery with more attributes than the trace context (how often it was re-routed). */
  public CompletableFuture<String> delivery(String nodeId, RelayMessage m, Map<String, String> extraAttributes) {
    return publisher.publish(topology.deliveriesTopicFor(nodeId), deliveryOf(nodeId, m, extraAttributes));
  }

  /** Several deliveries to one node in one go, in this order; {@code extraAttributes} gives each its own. */
  public CompletableFuture<java.util.List<String>> deliveries(String nodeId, java.util.List<RelayMessage> ms,
      java.util.function.Function<RelayMessage, Map<String, String>> extraAttributes) {
    return publisher.publishAll(topology.deliveriesTopicFor(nodeId),
        ms.stream().map(m -> deliveryOf(nodeId, m, extraAttributes.apply(m))).toList());
  }

  private static OutboundMessage deliveryOf(String nodeId, RelayMessage m, Map<String, String> extraAttributes) {
    Map<String, String> attributes = new HashMap<>(m.trace());
    attributes.putAll(extraAttributes);
    attributes.put(MessageAttributes.NODE_ID, nodeId);
    attributes.put(MessageAttributes.MESSAGE_ID, m.id());
    attributes.put(MessageAttributes.USER_ID, m.userId());
    // keyed by user: the node's ordered subscription hands one user's deliveries over in publish order
    return new OutboundMessage(m.toJson(), attributes, m.userId());
  }

  /**
   * A control delivery to one node: close every socket of {@code userId} there (4001). Keyed by the user
   * like the user's messages, so it comes after the deliveries published to that node before it. Its
   * data names the order and the user; no payload.
   */
  public CompletableFuture<String> disconnect(String nodeId, String userId) {
    Map<String, String> attributes = Map.of(
        MessageAttributes.NODE_ID, nodeId,
        MessageAttributes.USER_ID, userId,
        MessageAttributes.CONTROL, MessageAttributes.CONTROL_DISCONNECT);
    String data = JsonCodec.write(JsonCodec.object()
        .put("control", MessageAttributes.CONTROL_DISCONNECT).put("userId", userId));
    return publisher.publish(topology.deliveriesTopicFor(nodeId), new OutboundMessage(data, attributes, userId));
  }

  /**
   * A dead letter: the original data untouched, its attributes kept, and the reason added.
   * {@code detail} is a short description and must never hold payload content.
   */
  public CompletableFuture<String> deadLetter(
      String data, Map<String, String> originalAttributes, DeadLetterReason reason, String detail) {
    Map<String, String> attributes = new HashMap<>(originalAttributes);
    attributes.put(MessageAttributes.REASON, reason.wireName());
    attributes.put(MessageAttributes.DETAIL, detail);
    return publisher.publish(topology.deadLetterTopic(), new OutboundMessage(data, attributes));
  }
}
