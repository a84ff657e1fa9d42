package dev.pushrelay.pubsub;

import java.util.concurrent.CompletableFuture;

/** The Pub/Sub seam: publish to a topic, completed with the server's message id once accepted. */
public interface MessagePublisher extends AutoCloseable {
  CompletableFuture<String> publish(String topic, OutboundMessage message);

  @Override
  default void close() {}
}
