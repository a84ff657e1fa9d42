package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.upstream.UpstreamLane;
import dev.pushrelay.node.util.RecentIds;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One socket on this node. Until it is live (registered, {@code connection_established} sent, mailbox
 * written, and the settling window over) routed messages are held back, so the user sees the mailbox
 * first and then live traffic, each message id at most once, all in accept order:
 * <ol>
 *   <li>catching up: the mailbox's messages are written at once, oldest {@code sentAt} first; routed
 *       ones are held;</li>
 *   <li>settling: a message parked while the catch-up read (its route looked at the registry before
 *       the socket was in it) still turns up, by the mailbox's second look or routed live; routed and
 *       parked ones alike are held;</li>
 *   <li>live: what was held is written in accept order ({@code sentAt}, then id), then each routed
 *       message as it comes, which for one user is the order of the ordered subscription.</li>
 * </ol>
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
  /**
   * What the unacked messages of one socket may weigh together (their frames): a client that never
   * acks holds at most this much of the node's memory, not 256 frames of 200 KiB each.
   */
  static final long UNACKED_BYTES = 1024 * 1024;

  private enum State { CATCHING_UP, SETTLING, LIVE, CLOSED }


  /** A message handed to the socket: {@code written} once the frame is out, {@code settled} as above. */
  public record Write(CompletableFuture<DeliveryOutcome> written, CompletableFuture<DeliveryOutcome> settled) {
    static Write done(DeliveryOutcome outcome) {
      CompletableFuture<DeliveryOutcome> f = CompletableFuture.completedFuture(outcome);
      return new Write(f, f);
    }
  }

  /** A message waiting for the socket to go live; its futures complete once it is written. */
  private record Held(RelayMessage message, CompletableFuture<DeliveryOutcome> written,
      CompletableFuture<DeliveryOutcome> settled) {
    Held(RelayMessage message) {
      this(message, new CompletableFuture<>(), new CompletableFuture<>());
    }

    Write write() {
      return new Write(written, settled);
    }
  }

  private record Unacked(Instant writtenAt, CompletableFuture<DeliveryOutcome> settled, int bytes) {}

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
  private long unackedBytes;
  private final Clock clock;
  private State state = State.CATCHING_UP;
  /** The client's publishes, made at its first one (most sockets never publish). */
  private UpstreamLane upstream;

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

  /** This socket's lane of upstream publishes. */
  public synchronized UpstreamLane upstream() {
    if (upstream == null) {
      upstream = new UpstreamLane();
    }
    return upstream;
  }

  /** Writes a frame that is not a message (connection_established, pong, error). */
  public synchronized CompletableFuture<Void> sendControl(String frame) {
    if (state == State.CLOSED) {
      return CompletableFuture.failedFuture(new IllegalStateException("socket closed"));
    }
    return queue.offer(frame, true);
  }

  /**
   * A message from the mailbox: written now while catching up, ahead of anything routed meanwhile;
   * while settling, held with the routed ones and written in accept order when the socket goes live.
   */
  public Write catchUp(RelayMessage message) {
    List<Settle> settles = new ArrayList<>();
    Write w;
    synchronized (this) {
      if (state == State.SETTLING) {
        Held h = new Held(message);
        held.add(h);
        return h.write();
      }
      w = write(message, settles);
    }
    Settle.all(settles);
    return w;
  }

  /** A routed message: written now when live, else once it is; completes when settled. */
  public CompletableFuture<DeliveryOutcome> deliver(RelayMessage message) {
    List<Settle> settles = new ArrayList<>();
    CompletableFuture<DeliveryOutcome> settled;
    synchronized (this) {
      if (state == State.CATCHING_UP || state == State.SETTLING) {
        Held h = new Held(message);
        held.add(h);
        return h.settled();
      }
      settled = write(message, settles).settled();
    }
    Settle.all(settles);
    return settled;
  }

  /** The catch-up is written: from now on mailbox messages are held too, until {@link #goLive}. */
  public synchronized void settle() {
    if (state == State.CATCHING_UP) {
      state = State.SETTLING;
    }
  }

  /** Ends the settling window and writes what was held back, in accept order. */
  public void goLive() {
    List<Settle> settles = new ArrayList<>();
    List<Held> released;
    List<Write> writes = new ArrayList<>();
    synchronized (this) {
      if (state != State.CATCHING_UP && state != State.SETTLING) {
        return;
      }
      state = State.LIVE;
      released = new ArrayList<>(held);
      held.clear();
      released.sort(Comparator.comparing(Held::message, RelayMessage.DELIVERY_ORDER));
      for (Held h : released) {
        writes.add(write(h.message(), settles));
      }
    }
    Settle.all(settles);
    for (int i = 0; i < released.size(); i++) {
      Held h = released.get(i);
      pipe(writes.get(i).written(), h.written());
      pipe(writes.get(i).settled(), h.settled());
    }
  }

  private static void pipe(CompletableFuture<DeliveryOutcome> from, CompletableFuture<DeliveryOutcome> to) {
    from.whenComplete((o, e) -> {
      if (e != null) {
        to.completeExceptionally(e);
      } else {
        to.complete(o);
      }
    });
  }

  /** The client confirmed it received the message; true when it was written here and not acked yet. */
  public boolean acked(String messageId) {
    Unacked u;
    synchronized (this) {
      u = unacked.remove(messageId);
      if (u == null) {
        return owed.remove(messageId);
      }
      unackedBytes -= u.bytes();
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
        unackedBytes -= e.getValue().bytes();
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
        settles.add(new Settle(h.written(), DeliveryOutcome.NO_SOCKET));
        settles.add(new Settle(h.settled(), DeliveryOutcome.NO_SOCKET));
      }
      held.clear();
      Instant since = clock.instant().minus(window);
      for (Unacked u : unacked.values()) {
        settles.add(new Settle(u.settled(),
            u.writtenAt().isBefore(since) ? DeliveryOutcome.DELIVERED : DeliveryOutcome.NO_SOCKET));
      }
      unacked.clear();
      unackedBytes = 0;
    }
    Settle.all(settles);
  }

  /** Past its first mailbox catch-up (settling or live). */
  public synchronized boolean caughtUp() {
    return state == State.SETTLING || state == State.LIVE;
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
    String frame = ServerFrames.message(message);
    int bytes = frame.length();
    unacked.put(id, new Unacked(clock.instant(), settled, bytes));
    unackedBytes += bytes;
    // pushed out by newer ones, by count or by weight (the newest always stays): taken as delivered
    while (unacked.size() > 1 && (unacked.size() > UNACKED_LIMIT || unackedBytes > UNACKED_BYTES)) {
      String oldest = unacked.keySet().iterator().next();
      Unacked evicted = unacked.remove(oldest);
      unackedBytes -= evicted.bytes();
      settles.add(new Settle(evicted.settled(), DeliveryOutcome.DELIVERED));
      owed.add(oldest);
    }
    CompletableFuture<DeliveryOutcome> out = queue.offer(frame, message.high()).handle((v, e) -> {
      if (e == null) {
        return DeliveryOutcome.DELIVERED;
      }
      // not written (the socket is too slow or gone): its copy goes back to whoever handed it over
      Unacked u;
      synchronized (this) {
        u = unacked.remove(id);
        if (u != null) {
          unackedBytes -= u.bytes();
        }
      }
      if (u != null) {
        u.settled().complete(DeliveryOutcome.NO_SOCKET);
      }
      return DeliveryOutcome.NO_SOCKET;
    });
    return new Write(out, settled);
  }
}
