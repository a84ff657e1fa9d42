package dev.pushrelay.node.ws;

import java.time.Duration;

/**
 * How many registry writes of new sockets the node has in flight at once, following how fast the registry
 * answers: the node registers a crowd at the rate Firestore takes its registrations, not faster.
 * While registrations answer within {@link #TARGET}, the limit grows by one for each limit's worth of them;
 * one slower than that, or failed, cuts it by a quarter, at most once per {@code TARGET} (one slow batch
 * counts once). It stays between {@link #LEAST} and {@code most}.
 *
 * <p>Why: the registry is the node's lease too. A fixed 50 opening at once held on the emulators for one
 * receiving node; with three taking a drained node's thousand clients at once, their registrations and
 * catch-ups queued the lease renewals past their 4 s deadline, registrations and looks timed out, and two
 * nodes fenced themselves, which sent their sockets into the storm again. A registration that takes long
 * is the sign that the queue in front of the lease is growing.
 */
final class RegistrationLimit {
  /** A registration slower than this cuts the limit: well inside the lease renewal's 4 s deadline. */
  static final Duration TARGET = Duration.ofMillis(500);
  /** The least: a registry that answers slowly still takes a few sockets at a time. */
  static final int LEAST = 4;
  /** Where a node starts: a crowd's first registrations all start before any has answered. */
  static final int START = 16;

  private final int most;
  private final int least;
  // guarded by this
  private double limit;
  private long lastCut;
  private boolean cutOnce;

  /** {@code most}: the limit never grows past it (nor is it cut below {@link #LEAST}, or {@code most} if fewer). */
  RegistrationLimit(int most) {
    this.most = Math.max(1, most);
    this.least = Math.min(LEAST, this.most);
    this.limit = Math.min(this.most, START);
  }

  /** How many registrations may be in flight now. */
  synchronized int current() {
    return (int) limit;
  }

  /**
   * A registration answered after {@code tookNanos} ({@code failed}: it failed or passed its deadline),
   * as of {@code nowNanos}.
   */
  synchronized void answered(long tookNanos, boolean failed, long nowNanos) {
    if (failed || tookNanos > TARGET.toNanos()) {
      if (!cutOnce || nowNanos - lastCut >= TARGET.toNanos()) {
        limit = Math.max(least, limit * 0.75);
        lastCut = nowNanos;
        cutOnce = true;
      }
      return;
    }
    limit = Math.min(most, limit + 1 / limit);
  }
}
