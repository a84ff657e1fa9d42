package dev.pushrelay.node.delivery;

import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Sends a message that this node cannot write back to {@code relay-requests}, to be routed again. */
public final class Rerouter {
  private final RelayPublisher publisher;
  private final RelayMetrics metrics;

  public Rerouter(RelayPublisher publisher) {
    this(publisher, RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** {@code metrics} counts each re-route as a {@code rerouted} delivery outcome. */
  public Rerouter(RelayPublisher publisher, RelayMetrics metrics) {
    this.publisher = publisher;
    this.metrics = metrics;
  }

  /** Completes once Pub/Sub accepted it; {@code fromNode} is the node that held it. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode) {
    return reroute(m, fromNode, Map.of());
  }

  /** Same, carrying more attributes: the message's trace context, so the re-route stays in its trace. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode, Map<String, String> extraAttributes) {
    Map<String, String> attributes = new HashMap<>(extraAttributes);
    attributes.put(MessageAttributes.REROUTED_FROM, fromNode);
    return publisher.request(m, attributes).thenApply(id -> {
      metrics.delivery(DeliveryResult.REROUTED);
      return null;
    });
  }
}
