package dev.pushrelay.node.delivery;

import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Sends a message that this node cannot write back to {@code relay-requests}, to be routed again. */
public final class Rerouter {
  private final RelayPublisher publisher;

  public Rerouter(RelayPublisher publisher) {
    this.publisher = publisher;
  }

  /** Completes once Pub/Sub accepted it; {@code fromNode} is the node that held it. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode) {
    return publisher.request(m, Map.of(MessageAttributes.REROUTED_FROM, fromNode)).thenApply(id -> null);
  }
}
