package dev.pushrelay.node.delivery;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.cloud.pubsub.v1.MessageReceiver;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.SocketOutcome;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes deliveries from this node's subscription: writes them to the user's sockets and acks them to
 * Pub/Sub once settled (the client acked, see {@link dev.pushrelay.node.ws.Connection}); a
 * delivery whose user holds no socket here, or whose socket closed before the client acked it, goes
 * back to {@code relay-requests}, and is acked only once that publish succeeded. Until then Pub/Sub
 * keeps its copy, so a node that dies mid-write loses nothing.
 */
public final class DeliveryReceiver implements MessageReceiver {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryReceiver.class);

  private final String nodeId;
  private final ConnectionHub hub;
  private final BackToRequests backToRequests;
  private final RelayMetrics metrics;
  private final Clock clock;
  private final MessageTracing tracing;
  /** Told of each user a delivery found no socket for: the registry may list one here that is gone. */
  private final Consumer<String> noSocketFor;

  /**
   * {@code nodeId}: the incarnation whose subscription this receiver drains; {@code metrics} counts each
   * delivery's outcome and its latency from {@code sentAt}; {@code tracing} adds the socket write to the
   * message's trace.
   */
  public DeliveryReceiver(String nodeId, ConnectionHub hub, BackToRequests backToRequests, RelayMetrics metrics, Clock clock,
      MessageTracing tracing, Consumer<String> noSocketFor) {
    this.noSocketFor = noSocketFor;
    this.tracing = tracing;
    this.nodeId = nodeId;
    this.hub = hub;
    this.backToRequests = backToRequests;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public void receiveMessage(PubsubMessage message, AckReplyConsumer reply) {
    metrics.pubsubDelivered("node");
    if (ControlDelivery.isControl(message)) {
      ControlDelivery.apply(message, hub);
      reply.ack();
      return;
    }
    Optional<RelayMessage> parsed = Deliveries.parse(message, "the subscription of " + nodeId);
    if (parsed.isEmpty()) {
      reply.ack();
      return;
    }
    RelayMessage relayMessage = parsed.get();
    LOG.debug("delivery of message {} to node {} pulled", relayMessage.id(), nodeId);
    Map<String, String> attributes = message.getAttributesMap();
    Span span = tracing.start("relay.deliver", SpanKind.CONSUMER, attributes, relayMessage.id());
    Map<String, String> trace = MessageTracing.attributes(span);
    handle(relayMessage.withTrace(trace.isEmpty() ? MessageTracing.carried(attributes) : trace), attributes)
        .whenComplete((outcome, error) -> {
          if (error != null) {
            span.setStatus(StatusCode.ERROR, error.toString());
            try (var log = MessageTracing.logContext(span)) {
              LOG.warn("delivery of message {} failed, Pub/Sub will redeliver it: {}", relayMessage.id(),
                  error.toString());
            }
            metrics.delivery(DeliveryResult.FAILED);
            reply.nack();
          } else {
            LOG.debug("delivery of message {} to node {} settled: {}", relayMessage.id(), nodeId, outcome);
            span.setAttribute(MessageTracing.OUTCOME, outcome.name().toLowerCase(Locale.ROOT));
            span.setAttribute(MessageTracing.PATH, RelayMetrics.PATH_LIVE);
            reply.ack();
          }
          span.end();
        });
  }

  /** {@code m} under the trace context a re-route carries on; {@code delivered}: the delivery's attributes. */
  CompletableFuture<SocketOutcome> handle(RelayMessage m, Map<String, String> delivered) {
    Runnable handBack = () -> backToRequests.send(m, nodeId, delivered).exceptionally(e -> {
      // the socket it went to left its user's ack quorum, so Pub/Sub holds no copy any more
      LOG.warn("message {}, written but not acked on a socket that closed, could not be routed again: {}",
          m.id(), e.toString());
      return null;
    });
    return hub.deliver(m, handBack).thenCompose(outcome -> {
      OutcomeMetrics.record(metrics, outcome, Duration.between(m.sentAt(), clock.instant()), RelayMetrics.PATH_LIVE);
      if (outcome != SocketOutcome.NO_SOCKET) {
        return CompletableFuture.completedFuture(outcome);
      }
      noSocketFor.accept(m.userId());
      return backToRequests.send(m, nodeId, delivered).thenApply(v -> SocketOutcome.NO_SOCKET);
    });
  }
}
