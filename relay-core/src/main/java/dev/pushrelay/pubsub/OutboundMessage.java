package dev.pushrelay.pubsub;

import java.util.Map;
import java.util.Objects;

/** What is published: UTF-8 text data and string attributes. */
public record OutboundMessage(String data, Map<String, String> attributes) {
  public OutboundMessage {
    Objects.requireNonNull(data, "data");
    attributes = Map.copyOf(attributes);
  }
}
