package dev.pushrelay.node.ws;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Room for one socket of one user, claimed at the handshake before the upgrade. It is released
 * exactly once: when the socket closes, or when the upgrade never completes (the client went away
 * between the 101 and the open, or it took longer than the open deadline).
 */
public final class Reservation {
  private static final int PENDING = 0;
  private static final int OPEN = 1;
  private static final int RELEASED = 2;

  private final ConnectionHub hub;
  private final String userId;
  private final AtomicInteger state = new AtomicInteger(PENDING);

  Reservation(ConnectionHub hub, String userId) {
    this.hub = hub;
    this.userId = userId;
  }

  public String userId() {
    return userId;
  }

  /** The socket opened; false when the reservation was already given up (then close the socket). */
  public boolean open() {
    return state.compareAndSet(PENDING, OPEN);
  }

  /** The open deadline passed: gives the room back unless the socket opened meanwhile. */
  public boolean expireIfPending() {
    if (state.compareAndSet(PENDING, RELEASED)) {
      hub.release(userId);
      return true;
    }
    return false;
  }

  /** Gives the room back; later calls do nothing. */
  public void release() {
    if (state.getAndSet(RELEASED) != RELEASED) {
      hub.release(userId);
    }
  }

  public boolean isReleased() {
    return state.get() == RELEASED;
  }
}
