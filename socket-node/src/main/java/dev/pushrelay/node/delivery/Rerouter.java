package dev.pushrelay.node.delivery;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Sends a message that this node cannot write back to {@code relay-requests}, to be routed again. */
public final class Rerouter {
  private final RelayPublisher publisher;
  private final Mailbox mailbox;

  public Rerouter(RelayPublisher publisher, Mailbox mailbox) {
    this.publisher = publisher;
    this.mailbox = mailbox;
  }

  /**
   * Routes again a message that was written to a socket which then closed before the client acked
   * it. Its mailbox entry, if a catch-up marked it delivered, goes first: the route function would
   * otherwise take that mark for the user having it.
   */
  public CompletableFuture<Void> redeliver(RelayMessage m, String fromNode) {
    return mailbox.discard(m.userId(), m.id()).thenCompose(v -> reroute(m, fromNode));
  }

  /** Completes once Pub/Sub accepted it; {@code fromNode} is the node that held it. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode) {
    return publisher.request(m, Map.of(MessageAttributes.REROUTED_FROM, fromNode)).thenApply(id -> null);
  }
}
