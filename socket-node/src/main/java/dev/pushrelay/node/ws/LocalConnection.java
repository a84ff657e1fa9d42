package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One socket on this node. Until it is live (registered, {@code connection_established} sent, mailbox
 * written) routed messages are held back, so the user sees the mailbox first and then live traffic,
 * each message id at most once.
 */
public final class LocalConnection {
  private static final int RECENT_IDS = 2048;

  private enum State { CATCHING_UP, LIVE, CLOSED }

  private record Held(RelayMessage message, CompletableFuture<DeliveryOutcome> outcome) {}

  private final String connectionId;
  private final String userId;
  private final OutboundQueue queue;
  private final RecentIds written = new RecentIds(RECENT_IDS);
  private final List<Held> held = new ArrayList<>();
  private State state = State.CATCHING_UP;

  public LocalConnection(String connectionId, String userId, OutboundQueue queue) {
    this.connectionId = connectionId;
    this.userId = userId;
    this.queue = queue;
  }

  public String connectionId() {
    return connectionId;
  }

  public String userId() {
    return userId;
  }

  /** Writes a frame that is not a message (connection_established, pong, error). */
  public synchronized CompletableFuture<Void> sendControl(String frame) {
    if (state == State.CLOSED) {
      return CompletableFuture.failedFuture(new IllegalStateException("socket closed"));
    }
    return queue.offer(frame);
  }

  /** A message from the mailbox: written now, ahead of anything routed meanwhile. */
  public synchronized CompletableFuture<DeliveryOutcome> catchUp(RelayMessage message) {
    return write(message);
  }

  /** A routed message: written now when live, else after the catch-up. */
  public synchronized CompletableFuture<DeliveryOutcome> deliver(RelayMessage message) {
    if (state == State.CATCHING_UP) {
      CompletableFuture<DeliveryOutcome> outcome = new CompletableFuture<>();
      held.add(new Held(message, outcome));
      return outcome;
    }
    return write(message);
  }

  /** Ends the catch-up and writes what was held back, in arrival order. */
  public synchronized void goLive() {
    if (state != State.CATCHING_UP) {
      return;
    }
    state = State.LIVE;
    for (Held h : held) {
      write(h.message()).whenComplete((o, e) -> {
        if (e != null) {
          h.outcome().completeExceptionally(e);
        } else {
          h.outcome().complete(o);
        }
      });
    }
    held.clear();
  }

  /** Marks the socket gone; held messages are answered {@link DeliveryOutcome#NO_SOCKET}. */
  public synchronized void closed() {
    state = State.CLOSED;
    for (Held h : held) {
      h.outcome().complete(DeliveryOutcome.NO_SOCKET);
    }
    held.clear();
  }

  public synchronized boolean isClosed() {
    return state == State.CLOSED;
  }

  public int unwritten() {
    return queue.unwritten();
  }

  private CompletableFuture<DeliveryOutcome> write(RelayMessage message) {
    if (state == State.CLOSED) {
      return CompletableFuture.completedFuture(DeliveryOutcome.NO_SOCKET);
    }
    if (!written.add(message.id())) {
      return CompletableFuture.completedFuture(DeliveryOutcome.DUPLICATE_SUPPRESSED);
    }
    return queue.offer(ServerFrames.message(message)).thenApply(v -> DeliveryOutcome.DELIVERED);
  }
}
