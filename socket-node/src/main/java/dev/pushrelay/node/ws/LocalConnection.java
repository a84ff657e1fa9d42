package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One socket on this node. Until it is live (registered, {@code connection_established} sent, mailbox
 * written) routed messages are held back, so the user sees the mailbox first and then live traffic,
 * each message id at most once.
 */
public final class LocalConnection {
  private static final int RECENT_IDS = 2048;
  private static final int UNACKED_LIMIT = 256;

  private enum State { CATCHING_UP, LIVE, CLOSED }

  private record Held(RelayMessage message, CompletableFuture<DeliveryOutcome> outcome) {}

  private final String connectionId;
  private final String userId;
  private final OutboundQueue queue;
  private final RecentIds written = new RecentIds(RECENT_IDS);
  /** Written ids pushed out of {@code unacked} by newer ones: their acks are still owed, not abuse. */
  private final RecentIds owed = new RecentIds(RECENT_IDS);
  private final List<Held> held = new ArrayList<>();
  /** Written but not acked by the client yet, oldest first: re-routed if the socket closes soon after. */
  private final LinkedHashMap<String, Unacked> unacked = new LinkedHashMap<>();
  private final Clock clock;
  private State state = State.CATCHING_UP;

  private record Unacked(RelayMessage message, Instant writtenAt) {}

  public LocalConnection(String connectionId, String userId, OutboundQueue queue, Clock clock) {
    this.connectionId = connectionId;
    this.userId = userId;
    this.queue = queue;
    this.clock = clock;
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

  /** The client confirmed it received the message; true when it was written here and not acked yet. */
  public synchronized boolean acked(String messageId) {
    return unacked.remove(messageId) != null || owed.remove(messageId);
  }

  /**
   * Marks the socket gone; held messages are answered {@link DeliveryOutcome#NO_SOCKET}. Returns the
   * messages written within {@code window} that the client never acked: a socket closing right after
   * a write may not have handed them to the app, so the caller routes them again (the client drops
   * repeats by id).
   */
  public synchronized List<RelayMessage> closed(Duration window) {
    state = State.CLOSED;
    for (Held h : held) {
      h.outcome().complete(DeliveryOutcome.NO_SOCKET);
    }
    held.clear();
    Instant since = clock.instant().minus(window);
    List<RelayMessage> recent = unacked.values().stream()
        .filter(u -> !u.writtenAt().isBefore(since))
        .map(Unacked::message)
        .toList();
    unacked.clear();
    return recent;
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
    // Tracked from the moment it is handed to the socket, so a close racing the write still sees it.
    unacked.put(message.id(), new Unacked(message, clock.instant()));
    if (unacked.size() > UNACKED_LIMIT) {
      String oldest = unacked.keySet().iterator().next();
      unacked.remove(oldest);
      owed.add(oldest);
    }
    return queue.offer(ServerFrames.message(message)).thenApply(v -> DeliveryOutcome.DELIVERED);
  }
}
