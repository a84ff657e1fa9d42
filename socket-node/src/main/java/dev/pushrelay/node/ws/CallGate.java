package dev.pushrelay.node.ws;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * How many Firestore calls of one kind the node's sockets have in flight at once, first come first served:
 * the node has one for its sockets' registrations and one for their catch-up reads of the mailbox. A
 * reconnect storm, or many users with full mailboxes, then take turns rather than all calling at once:
 * the registry and the heartbeat keep their share of Firestore, and what catch-up pages hold before they
 * are queued for their sockets has a bound. How many may be in flight can change between calls (the node's
 * follows how fast the registry answers, {@link RegistrationLimit}). A call holds its place until it answers or
 * its deadline passes (the call may then still be under way: a Firestore that does not answer must not
 * stop every socket for as long as its own timeouts); what a catch-up found is then charged to
 * {@link NodeMemory} as it is queued, so a client that reads nothing holds no place here. The next page of
 * a catch-up under way goes ahead of catch-ups not begun, so a large mailbox is read in one go rather
 * than a turn at a time. A place given back starts the next call on the thread that gave it back, one
 * after the other, never nested: a call that answers at once gives its place back to the same loop.
 */
final class CallGate {
  /** The most catch-up reads a node has in flight. */
  static final int MAX_IN_FLIGHT = 32;

  /** A read waiting for its place; {@code wanted} says whether its socket still needs it. */
  private record Waiting(BooleanSupplier wanted, Runnable read) {}

  private final java.util.function.IntSupplier most;
  // guarded by this
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private int inFlight;
  /** Places given back and not taken back yet, and whether a thread is handing places on. */
  private int givenBack;
  private boolean handing;

  CallGate(int most) {
    this(() -> most);
    if (most < 1) {
      throw new IllegalArgumentException("at least one read in flight");
    }
  }

  /**
   * As many reads in flight as {@code most} says at each read (at least one): a place given back while more
   * are in flight than that is not handed on.
   */
  CallGate(java.util.function.IntSupplier most) {
    this.most = most;
  }

  /**
   * Starts {@code read} now if a place is free and none waits before it, else once its turn comes, unless
   * {@code wanted} is false by then; {@code ahead}: the next page of a catch-up under way, which waits ahead
   * of the others. A read started must end in one {@link #leave}.
   */
  void enter(BooleanSupplier wanted, Runnable read, boolean ahead) {
    Waiting w = new Waiting(wanted, read);
    synchronized (this) {
      if (ahead) {
        waiting.addFirst(w);
      } else {
        waiting.addLast(w);
      }
    }
    handOn();
  }

  /** A read answered (or gave up): its place goes back, and to the first waiting read still wanted. */
  void leave() {
    synchronized (this) {
      givenBack++;
    }
    handOn();
  }

  /**
   * Takes the places given back, then starts waiting reads in their order for as long as fewer are in
   * flight than the limit allows now (which may have grown or fallen since). One thread at a time does it:
   * a call while another thread hands on (or from a read it starts) leaves its work to that thread.
   */
  private void handOn() {
    synchronized (this) {
      if (handing) {
        return;
      }
      handing = true;
    }
    try {
      while (true) {
        Waiting next = null;
        synchronized (this) {
          inFlight -= givenBack;
          givenBack = 0;
          if (inFlight < Math.max(1, most.getAsInt())) {
            do {
              next = waiting.poll();
            } while (next != null && !next.wanted().getAsBoolean());
          }
          if (next == null) {
            handing = false;
            return;
          }
          inFlight++;
        }
        try {
          next.read().run();
        } catch (RuntimeException e) {
          synchronized (this) {
            givenBack++; // a read that threw did not start: its place goes on
          }
        }
      }
    } catch (Error e) {
      synchronized (this) {
        handing = false; // the next call hands on what is left
      }
      throw e;
    }
  }

  synchronized int inFlight() {
    return inFlight;
  }

  synchronized int waiting() {
    return waiting.size();
  }
}
