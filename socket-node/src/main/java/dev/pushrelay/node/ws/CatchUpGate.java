package dev.pushrelay.node.ws;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * How many catch-up reads of the mailbox the node's sockets have in flight at once. A reconnect storm,
 * or many users with full mailboxes, read {@link #MAX_IN_FLIGHT} pages at a time, first come first
 * served, rather than all at once: the registry and the heartbeat keep their share of Firestore, and
 * what the pages hold before they are queued for their sockets has a bound. A read holds its place
 * until it answers; what it found is then charged to {@link NodeMemory} as it is queued, so a client
 * that reads nothing holds no place here.
 */
final class CatchUpGate {
  static final int MAX_IN_FLIGHT = 32;

  /** A read waiting for its place; {@code wanted} says whether its socket still needs it. */
  private record Waiting(BooleanSupplier wanted, Runnable read) {}

  private final int most;
  // guarded by this
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private int inFlight;

  CatchUpGate(int most) {
    if (most < 1) {
      throw new IllegalArgumentException("at least one read in flight");
    }
    this.most = most;
  }

  /**
   * Starts {@code read} now if a place is free, else once one is, unless {@code wanted} is false by
   * then. A read started must end in one {@link #leave}.
   */
  void enter(BooleanSupplier wanted, Runnable read) {
    synchronized (this) {
      if (inFlight >= most) {
        waiting.add(new Waiting(wanted, read));
        return;
      }
      inFlight++;
    }
    read.run();
  }

  /** A read answered (or gave up): its place goes to the first waiting read still wanted. */
  void leave() {
    Waiting next;
    synchronized (this) {
      do {
        next = waiting.poll();
      } while (next != null && !next.wanted().getAsBoolean());
      if (next == null) {
        inFlight--;
        return;
      }
    }
    next.read().run();
  }

  synchronized int inFlight() {
    return inFlight;
  }

  synchronized int waiting() {
    return waiting.size();
  }
}
