package dev.pushrelay.pubsub;

import java.util.concurrent.CompletableFuture;

/** The Pub/Sub seam: publish to a topic, completed with the server's message id once accepted. */
public interface MessagePublisher extends AutoCloseable {
  CompletableFuture<String> publish(String topic, OutboundMessage message);

  /**
   * Several messages to one topic, taken in this order (one ordering key's messages stay in it); completes
   * with their ids once every one was taken, fails if any was refused. By default one after another.
   */
  default CompletableFuture<java.util.List<String>> publishAll(String topic, java.util.List<OutboundMessage> messages) {
    java.util.List<String> ids = new java.util.ArrayList<>();
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (OutboundMessage m : messages) {
      chain = chain.thenCompose(v -> publish(topic, m)).thenAccept(ids::add);
    }
    return chain.thenApply(v -> ids);
  }

  @Override
  default void close() {}
}
