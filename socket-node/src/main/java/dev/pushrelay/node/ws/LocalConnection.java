package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One socket on this node. Until it is live (registered, {@code connection_established} sent, mailbox
 * written) routed messages are held back, so the user sees the mailbox first and then live traffic,
 * each message id at most once.
 *
 * <p>Acknowledgement is end to end: a message written here is <em>settled</em> only when the client
 * acks its id ({@link DeliveryOutcome#DELIVERED}), or, for a client that does not ack, once it has been
 * unacked for the whole unacked window or was pushed out of it by newer ones (taken as delivered). A
 * socket that closes first settles its unacked messages {@link DeliveryOutcome#NO_SOCKET}: whoever
 * handed them over routes them again, and only then lets go of its own copy (the Pub/Sub delivery, or
 * the mailbox entry). Futures are completed outside this object's monitor.
 */
public final class LocalConnection {
  private static final int RECENT_IDS = 2048;
  static final int UNACKED_LIMIT = 256;

  private enum State { CATCHING_UP, LIVE, CLOSED }

  /** A message handed to the socket: {@code written} once the frame is out, {@code settled} as above. */
  public record Write(CompletableFuture<DeliveryOutcome> written, CompletableFuture<DeliveryOutcome> settled) {
    static Write done(DeliveryOutcome outcome) {
      CompletableFuture<DeliveryOutcome> f = CompletableFuture.completedFuture(outcome);
      return new Write(f, f);
    }
  }

  private record Held(RelayMessage message, CompletableFuture<DeliveryOutcome> settled) {}

  private record Unacked(Instant writtenAt, CompletableFuture<DeliveryOutcome> settled) {}

  /** Completions gathered under the monitor and run after it is released. */
  private record Settle(CompletableFuture<DeliveryOutcome> future, DeliveryOutcome outcome) {
    static void all(List<Settle> settles) {
      for (Settle s : settles) {
        s.future().complete(s.outcome());
      }
    }
  }

  private final String connectionId;
  private final String userId;
  private final OutboundQueue queue;
  private final RecentIds written = new RecentIds(RECENT_IDS);
  /** Written ids pushed out of {@code unacked} by newer ones: their acks are still owed, not abuse. */
  private final RecentIds owed = new RecentIds(RECENT_IDS);
  private final List<Held> held = new ArrayList<>();
  /** Written but not acked by the client yet, oldest first. */
  private final LinkedHashMap<String, Unacked> unacked = new LinkedHashMap<>();
  private final Clock clock;
  private State state = State.CATCHING_UP;

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
  public Write catchUp(RelayMessage message) {
    List<Settle> settles = new ArrayList<>();
    Write w;
    synchronized (this) {
      w = write(message, settles);
    }
    Settle.all(settles);
    return w;
  }

  /** A routed message: written now when live, else after the catch-up; completes when settled. */
  public CompletableFuture<DeliveryOutcome> deliver(RelayMessage message) {
    List<Settle> settles = new ArrayList<>();
    CompletableFuture<DeliveryOutcome> settled;
    synchronized (this) {
      if (state == State.CATCHING_UP) {
        settled = new CompletableFuture<>();
        held.add(new Held(message, settled));
        return settled;
      }
      settled = write(message, settles).settled();
    }
    Settle.all(settles);
    return settled;
  }

  /** Ends the catch-up and writes what was held back, in arrival order. */
  public void goLive() {
    List<Settle> settles = new ArrayList<>();
    List<Held> released;
    List<Write> writes = new ArrayList<>();
    synchronized (this) {
      if (state != State.CATCHING_UP) {
        return;
      }
      state = State.LIVE;
      released = List.copyOf(held);
      held.clear();
      for (Held h : released) {
        writes.add(write(h.message(), settles));
      }
    }
    Settle.all(settles);
    for (int i = 0; i < released.size(); i++) {
      CompletableFuture<DeliveryOutcome> target = released.get(i).settled();
      writes.get(i).settled().whenComplete((o, e) -> {
        if (e != null) {
          target.completeExceptionally(e);
        } else {
          target.complete(o);
        }
      });
    }
  }

  /** The client confirmed it received the message; true when it was written here and not acked yet. */
  public boolean acked(String messageId) {
    Unacked u;
    synchronized (this) {
      u = unacked.remove(messageId);
      if (u == null) {
        return owed.remove(messageId);
      }
    }
    u.settled().complete(DeliveryOutcome.DELIVERED);
    return true;
  }

  /**
   * Settles as delivered what has waited for its ack longer than {@code window}: a client that never
   * acks holds nothing for longer. Called for every socket once a second.
   */
  public void expireUnacked(Duration window) {
    List<Settle> settles = new ArrayList<>();
    synchronized (this) {
      Instant before = clock.instant().minus(window);
      Iterator<java.util.Map.Entry<String, Unacked>> it = unacked.entrySet().iterator();
      while (it.hasNext()) {
        java.util.Map.Entry<String, Unacked> e = it.next();
        if (!e.getValue().writtenAt().isBefore(before)) {
          break; // oldest first: the rest are younger
        }
        it.remove();
        owed.add(e.getKey());
        settles.add(new Settle(e.getValue().settled(), DeliveryOutcome.DELIVERED));
      }
    }
    Settle.all(settles);
  }

  /**
   * Marks the socket gone. Held messages and messages written within {@code window} that the client
   * never acked settle {@link DeliveryOutcome#NO_SOCKET}: a socket closing right after a write may not
   * have handed them to the app, so they are routed again (the client drops repeats by id).
   */
  public void closed(Duration window) {
    List<Settle> settles = new ArrayList<>();
    synchronized (this) {
      state = State.CLOSED;
      for (Held h : held) {
        settles.add(new Settle(h.settled(), DeliveryOutcome.NO_SOCKET));
      }
      held.clear();
      Instant since = clock.instant().minus(window);
      for (Unacked u : unacked.values()) {
        settles.add(new Settle(u.settled(),
            u.writtenAt().isBefore(since) ? DeliveryOutcome.DELIVERED : DeliveryOutcome.NO_SOCKET));
      }
      unacked.clear();
    }
    Settle.all(settles);
  }

  public synchronized boolean isClosed() {
    return state == State.CLOSED;
  }

  /** Messages written and waiting for the client's ack. */
  public synchronized int unackedCount() {
    return unacked.size();
  }

  public int unwritten() {
    return queue.unwritten();
  }

  private Write write(RelayMessage message, List<Settle> settles) {
    if (state == State.CLOSED) {
      return Write.done(DeliveryOutcome.NO_SOCKET);
    }
    if (!written.add(message.id())) {
      return Write.done(DeliveryOutcome.DUPLICATE_SUPPRESSED);
    }
    // Tracked from the moment it is handed to the socket, so a close racing the write still sees it.
    CompletableFuture<DeliveryOutcome> settled = new CompletableFuture<>();
    String id = message.id();
    unacked.put(id, new Unacked(clock.instant(), settled));
    if (unacked.size() > UNACKED_LIMIT) {
      String oldest = unacked.keySet().iterator().next();
      settles.add(new Settle(unacked.remove(oldest).settled(), DeliveryOutcome.DELIVERED));
      owed.add(oldest);
    }
    CompletableFuture<DeliveryOutcome> out = queue.offer(ServerFrames.message(message)).handle((v, e) -> {
      if (e == null) {
        return DeliveryOutcome.DELIVERED;
      }
      // not written (the socket is too slow or gone): its copy goes back to whoever handed it over
      Unacked u;
      synchronized (this) {
        u = unacked.remove(id);
      }
      if (u != null) {
        u.settled().complete(DeliveryOutcome.NO_SOCKET);
      }
      return DeliveryOutcome.NO_SOCKET;
    });
    return new Write(out, settled);
  }
}
