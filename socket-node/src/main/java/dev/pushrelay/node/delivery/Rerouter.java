package dev.pushrelay.node.delivery;

import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.mailbox.ParkFirst;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Sends a message that this node cannot write back the way of a message with no socket: parked in the
 * user's mailbox first, then onto {@code relay-requests} ({@link ParkFirst}). The user's next socket
 * finds it in its catch-up, in accept order ahead of live traffic.
 */
public final class Rerouter {
  private final ParkFirst parkFirst;
  private final RelayMetrics metrics;

  /** {@code metrics} counts each re-route as a {@code rerouted} delivery outcome. */
  public Rerouter(ParkFirst parkFirst, RelayMetrics metrics) {
    this.parkFirst = parkFirst;
    this.metrics = metrics;
  }

  /** Completes once Pub/Sub accepted it; {@code fromNode} is the node that held it. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode) {
    return reroute(m, fromNode, Map.of());
  }

  /** Same, with the message's trace context, so the re-route stays in its trace. */
  public CompletableFuture<Void> reroute(RelayMessage m, String fromNode, Map<String, String> trace) {
    return parkFirst.park(m, trace, Map.of(MessageAttributes.REROUTED_FROM, fromNode)).thenRun(() ->
        metrics.delivery(DeliveryResult.REROUTED));
  }
}
