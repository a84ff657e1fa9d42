package dev.pushrelay.pubsub;

import java.util.Map;
import java.util.Objects;

/**
 * What is published: UTF-8 text data, string attributes and an ordering key ({@code ""} for none).
 * Messages with one key reach a subscription that has message ordering on in the order Pub/Sub
 * received them.
 */
public record OutboundMessage(String data, Map<String, String> attributes, String orderingKey) {
  public OutboundMessage {
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(orderingKey, "orderingKey");
    attributes = Map.copyOf(attributes);
  }

  public OutboundMessage(String data, Map<String, String> attributes) {
    this(data, attributes, "");
  }
}
