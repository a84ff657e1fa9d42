package dev.pushrelay.node.delivery;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.ConnectionLifecycle;
import dev.pushrelay.node.ws.DeliveryOutcome;
import dev.pushrelay.node.ws.LocalConnection;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Right after {@code connection_established}: claims the user's parked messages, writes them in
 * publish order, then marks them delivered; what could not be written goes back to pending.
 */
public final class MailboxCatchUp implements ConnectionLifecycle.CatchUp {
  private final Mailbox mailbox;
  private final Clock clock;
  private final RelayMetrics metrics;

  public MailboxCatchUp(Mailbox mailbox, Clock clock) {
    this(mailbox, clock, RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** {@code metrics} counts the drained messages and their latency from {@code sentAt}. */
  public MailboxCatchUp(Mailbox mailbox, Clock clock, RelayMetrics metrics) {
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<Void> run(LocalConnection connection) {
    String user = connection.userId();
    return mailbox.claim(user, connection.connectionId(), clock.instant()).thenCompose(messages -> {
      if (messages.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      List<CompletableFuture<DeliveryOutcome>> writes = new ArrayList<>(messages.size());
      for (RelayMessage m : messages) {
        writes.add(connection.catchUp(m).exceptionally(e -> DeliveryOutcome.NO_SOCKET).thenApply(o -> {
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
          (writes.get(i).join() == DeliveryOutcome.NO_SOCKET ? unwritten : written).add(messages.get(i).id());
        }
        metrics.drained(written.size());
        return CompletableFuture.allOf(mailbox.delivered(user, written, clock.instant()),
            mailbox.release(user, unwritten));
      });
    });
  }
}
