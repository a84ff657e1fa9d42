package dev.pushrelay.node.ws;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * How many catch-up reads of the mailbox the node's sockets have in flight at once. A reconnect storm,
 * or many users with full mailboxes, read {@link #MAX_IN_FLIGHT} pages at a time, first come first
 * served, rather than all at once: the registry and the heartbeat keep their share of Firestore, and
 * what the pages hold before they are queued for their sockets has a bound. A read holds its place
 * until it answers or its deadline passes (the call may then still be under way: a Firestore that does
 * not answer must not stop every catch-up for as long as its own timeouts); what it found is then
 * charged to {@link NodeMemory} as it is queued, so a client that reads nothing holds no place here. The
 * next page of a catch-up under way goes ahead of catch-ups not begun, so a large mailbox is read in one
 * go rather than a turn at a time. A place given back starts the next read on the thread that gave it
 * back, one after the other, never nested: a read that answers at once gives its place back to the same
 * loop.
 */
final class CatchUpGate {
  static final int MAX_IN_FLIGHT = 32;

  /** A read waiting for its place; {@code wanted} says whether its socket still needs it. */
  private record Waiting(BooleanSupplier wanted, Runnable read) {}

  private final int most;
  // guarded by this
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private int inFlight;
  /** Places given back and not handed on yet, and whether a thread is handing them on. */
  private int givenBack;
  private boolean handing;

  CatchUpGate(int most) {
    if (most < 1) {
      throw new IllegalArgumentException("at least one read in flight");
    }
    this.most = most;
  }

  /**
   * Starts {@code read} now if a place is free, else once one is, unless {@code wanted} is false by
   * then; {@code ahead}: the next page of a catch-up under way, which waits ahead of the others. A read
   * started must end in one {@link #leave}.
   */
  void enter(BooleanSupplier wanted, Runnable read, boolean ahead) {
    synchronized (this) {
      if (inFlight >= most) {
        Waiting w = new Waiting(wanted, read);
        if (ahead) {
          waiting.addFirst(w);
        } else {
          waiting.addLast(w);
        }
        return;
      }
      inFlight++;
    }
    read.run();
  }

  /** A read answered (or gave up): its place goes to the first waiting read still wanted. */
  void leave() {
    synchronized (this) {
      givenBack++;
      if (handing) {
        return; // the thread handing places on takes this one too, after the read it is starting
      }
      handing = true;
    }
    while (true) {
      Waiting next;
      synchronized (this) {
        if (givenBack == 0) {
          handing = false;
          return;
        }
        givenBack--;
        do {
          next = waiting.poll();
        } while (next != null && !next.wanted().getAsBoolean());
        if (next == null) {
          inFlight--;
          continue;
        }
      }
      try {
        next.read().run();
      } catch (RuntimeException e) {
        synchronized (this) {
          givenBack++; // a read that threw did not start: its place goes on
        }
      }
    }
  }

  synchronized int inFlight() {
    return inFlight;
  }

  synchronized int waiting() {
    return waiting.size();
  }
}
