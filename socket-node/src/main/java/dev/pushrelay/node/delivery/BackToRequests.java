package dev.pushrelay.node.delivery;

import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.routing.LiveRoute;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Sends a message that this node cannot write back the way of a message with no socket: parked in the
 * user's mailbox first, then onto {@code relay-requests} ({@link ParkFirst}). The user's next socket
 * finds it in its catch-up, in accept order ahead of live traffic.
 */
public final class BackToRequests {
  private final ParkFirst parkFirst;
  private final RelayMetrics metrics;

  /** {@code metrics} counts each re-route as a {@code rerouted} delivery outcome. */
  public BackToRequests(ParkFirst parkFirst, RelayMetrics metrics) {
    this.parkFirst = parkFirst;
    this.metrics = metrics;
  }

  /**
   * Completes once Pub/Sub accepted it, under the message's trace context (the re-route stays in its
   * trace). {@code fromNode} is the node that held it, {@code delivered} the attributes of the delivery it
   * came on, whose re-route count goes on one higher.
   */
  public CompletableFuture<Void> send(RelayMessage m, String fromNode, Map<String, String> delivered) {
    return parkFirst.park(m, rerouted(fromNode, delivered)).thenRun(() -> metrics.delivery(DeliveryResult.REROUTED));
  }

  /** {@link #send} for many, whose mailbox entries are written together: a dead node's backlog. */
  public CompletableFuture<Void> sendAll(java.util.List<RelayMessage> ms, String fromNode,
      java.util.function.Function<RelayMessage, Map<String, String>> delivered) {
    return parkFirst.parkAll(ms, m -> rerouted(fromNode, delivered.apply(m)))
        .thenRun(() -> ms.forEach(m -> metrics.delivery(DeliveryResult.REROUTED)));
  }

  /**
   * Straight to the live {@code nodes} that hold the user now, neither parked nor through requests: a
   * dead node's deliveries whose user is back on another node, in this order, in one publish call per
   * node; {@code delivered} gives the attributes each came with. Completes once Pub/Sub took every copy.
   */
  public CompletableFuture<Void> sendAllLive(LiveRoute live, Set<String> nodes, java.util.List<RelayMessage> ms,
      String fromNode, java.util.function.Function<RelayMessage, Map<String, String>> delivered) {
    return live.deliverAll(nodes, ms, m -> rerouted(fromNode, delivered.apply(m)))
        .thenRun(() -> ms.forEach(m -> metrics.delivery(DeliveryResult.REROUTED)));
  }

  /** The attributes of a re-route: the node it comes from, and one more re-route than the delivery had. */
  private static Map<String, String> rerouted(String fromNode, Map<String, String> delivered) {
    return Map.of(MessageAttributes.REROUTED_FROM, fromNode,
        MessageAttributes.REROUTES, Integer.toString(MessageAttributes.reroutes(delivered) + 1));
  }
}
