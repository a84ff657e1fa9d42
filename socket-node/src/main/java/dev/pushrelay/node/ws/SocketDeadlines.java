package dev.pushrelay.node.ws;

import java.util.Arrays;
import java.util.function.Predicate;

/**
 * A socket's deadlines, by name, on the node's monotonic clock: each is a moment or {@link #NEVER}. The
 * node's one timer asks {@link #due} each tick; the socket's events set, clear and look at them, then
 * {@link #rearm} so that the timer looks for the earliest that counts.
 */
final class SocketDeadlines {
  static final long NEVER = Long.MAX_VALUE;
  /** Longer than any socket lives (a token valid for longer, a JWT with {@code exp} in ms, has no deadline). */
  private static final java.time.Duration FOREVER = java.time.Duration.ofDays(365 * 100L);

  /** The socket's deadlines, in the order they are handled when several pass together. */
  enum Name {
    /** The upgrade was accepted but the socket has not opened: its room goes back. */
    OPEN,
    /** A slow consumer's close frame was not taken in its grace: the connection is cut. */
    DISCONNECT,
    /** The token's {@code exp}: closed with 1008 unless renewed. */
    EXPIRY,
    /** The next ping; a socket silent for two intervals is dropped. */
    PING,
    /** Written messages waited too long for their acks: settled, or the socket leaves the ack quorum. */
    UNACKED,
    /** The age drawn for the socket: closed with 1012 once its queue is written. */
    RETIRE,
    /** A live socket's look for a claim another socket left, or after a failed look. */
    CLAIMS_LOOK,
    /** The catch-up's retry, the second look, the late look: whichever the socket waits for. */
    LOOK,
    /** The registry entry's removal is tried again. */
    REMOVE
  }

  /** Every name, in order: one array for all sockets (their events walk it often); never written. */
  static final Name[] NAMES = Name.values();

  private final long[] at = new long[NAMES.length];
  /** The earliest that counts; the timer thread reads it. */
  private volatile long next = NEVER;

  SocketDeadlines() {
    Arrays.fill(at, NEVER);
  }

  void set(Name name, long when) {
    at[name.ordinal()] = when;
  }

  /** Moves {@code name} to {@code when} if that is earlier (or it was not set). */
  void setEarlier(Name name, long when) {
    long now = at[name.ordinal()];
    if (now == NEVER || when - now < 0) {
      at[name.ordinal()] = when;
    }
  }

  void clear(Name name) {
    at[name.ordinal()] = NEVER;
  }

  long at(Name name) {
    return at[name.ordinal()];
  }

  boolean passed(Name name, long now) {
    return passed(now, at[name.ordinal()]);
  }

  /** The timer's question: true once the earliest has passed, and only once per {@link #rearm}. */
  boolean due(long now) {
    if (passed(now, next)) {
      next = NEVER; // one event per passing, however many ticks come before it runs
      return true;
    }
    return false;
  }

  /** The timer looks for the earliest of the deadlines that {@code count}. */
  void rearm(Predicate<Name> count) {
    long earliest = NEVER;
    for (Name name : NAMES) {
      long when = at[name.ordinal()];
      if (when != NEVER && count.test(name) && (earliest == NEVER || when - earliest < 0)) {
        earliest = when;
      }
    }
    next = earliest;
  }

  /** None counts any more. */
  void stop() {
    Arrays.fill(at, NEVER);
    next = NEVER;
  }

  /** {@code left} from {@code now}; past already is now, and one further off than a socket lives is never. */
  static long until(long now, java.time.Duration left) {
    if (left.isNegative()) {
      return now;
    }
    return left.compareTo(FOREVER) >= 0 ? NEVER : now + left.toNanos();
  }

  static boolean passed(long now, long deadline) {
    return deadline != NEVER && now - deadline >= 0;
  }
}
