package dev.pushrelay.node.delivery;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkedMessage;
import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.ConnectionLifecycle;
import dev.pushrelay.node.ws.DeliveryOutcome;
import dev.pushrelay.node.ws.LocalConnection;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * Right after {@code connection_established}: claims the user's parked messages, writes them in
 * publish order, then marks them delivered; what could not be written goes back to pending.
 */
public final class MailboxCatchUp implements ConnectionLifecycle.CatchUp {
  private final Mailbox mailbox;
  private final Clock clock;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;

  /**
   * {@code metrics} counts the drained messages and their latency from {@code sentAt}; {@code tracing}
   * adds each socket write to the trace the message was parked under.
   */
  public MailboxCatchUp(Mailbox mailbox, Clock clock, RelayMetrics metrics, MessageTracing tracing) {
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
    this.tracing = tracing;
  }

  @Override
  public CompletableFuture<Void> run(LocalConnection connection) {
    String user = connection.userId();
    return mailbox.claim(user, connection.connectionId(), clock.instant()).thenCompose(parked -> {
      if (parked.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      List<RelayMessage> messages = parked.stream().map(ParkedMessage::message).toList();
      List<CompletableFuture<DeliveryOutcome>> writes = new ArrayList<>(messages.size());
      for (ParkedMessage p : parked) {
        RelayMessage m = p.message();
        Span span = tracing.start("relay.deliver", SpanKind.CONSUMER, p.trace(), m.id());
        writes.add(connection.catchUp(m).exceptionally(e -> DeliveryOutcome.NO_SOCKET).thenApply(o -> {
          span.setAttribute(MessageTracing.OUTCOME, o.name().toLowerCase(Locale.ROOT));
          span.setAttribute(MessageTracing.PATH, RelayMetrics.PATH_MAILBOX);
          span.end();
          if (o == DeliveryOutcome.DELIVERED) {
            metrics.delivery(DeliveryResult.DELIVERED);
            metrics.deliveryLatency(Duration.between(m.sentAt(), clock.instant()), RelayMetrics.PATH_MAILBOX);
          } else if (o == DeliveryOutcome.DUPLICATE_SUPPRESSED) {
            metrics.delivery(DeliveryResult.DUPLICATE_SUPPRESSED);
          }
          return o;
        }));
      }
      return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenCompose(v -> {
        List<String> written = new ArrayList<>();
        List<String> unwritten = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
          if (parked.get(i).claimed()) {
            (writes.get(i).join() == DeliveryOutcome.NO_SOCKET ? unwritten : written).add(messages.get(i).id());
          }
        }
        metrics.drained(written.size());
        return CompletableFuture.allOf(mailbox.delivered(user, written, clock.instant()),
            mailbox.release(user, unwritten));
      });
    });
  }
}
