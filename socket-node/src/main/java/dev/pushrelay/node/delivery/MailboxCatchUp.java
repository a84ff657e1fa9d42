package dev.pushrelay.node.delivery;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.ConnectionLifecycle;
import dev.pushrelay.node.ws.DeliveryOutcome;
import dev.pushrelay.node.ws.LocalConnection;
import java.time.Clock;
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

  public MailboxCatchUp(Mailbox mailbox, Clock clock) {
    this.mailbox = mailbox;
    this.clock = clock;
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
        writes.add(connection.catchUp(m).exceptionally(e -> DeliveryOutcome.NO_SOCKET));
      }
      return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenCompose(v -> {
        List<String> written = new ArrayList<>();
        List<String> unwritten = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
          (writes.get(i).join() == DeliveryOutcome.NO_SOCKET ? unwritten : written).add(messages.get(i).id());
        }
        return CompletableFuture.allOf(mailbox.delivered(user, written, clock.instant()),
            mailbox.release(user, unwritten));
      });
    });
  }
}
