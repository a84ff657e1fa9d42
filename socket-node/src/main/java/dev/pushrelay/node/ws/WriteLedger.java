package dev.pushrelay.node.ws;

import dev.pushrelay.node.util.RecentIds;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What one socket was written: the ids of its recent messages (none is written twice), and the
 * messages its client has not acked yet, oldest first, each with the future that settles it. A message
 * is settled {@link SocketOutcome#DELIVERED} when the client acks it, when it was unacked for the whole
 * window, or when newer ones push it out (by count or by weight); its ack is then still owed, and an
 * owed ack is not abuse.
 *
 * <h2>The ack quorum</h2>
 * A routed message (one that came with a hand-back: a Pub/Sub delivery, whose user's next message
 * Pub/Sub hands over only once this one is settled) must not wait for a socket that is behind. A socket
 * whose oldest routed message waited longer than the quorum bound for its ack leaves the quorum: its
 * routed messages settle as delivered at once, and later ones as soon as their frame is written, until
 * the client acks again. What such a socket had not acked when it closes, if written within the unacked
 * window before the close (or never written at all), goes back by its hand-back, the way an unsettled
 * copy goes back by settling {@link SocketOutcome#NO_SOCKET}. Mailbox messages (no hand-back) hold no
 * Pub/Sub stream and always wait for the ack or the window.
 *
 * <p>Touched only on its {@link Connection}'s events; times are the node's monotonic nanoseconds.
 */
final class WriteLedger {
  private static final int RECENT_IDS = 2048;
  static final int UNACKED_LIMIT = 256;
  /**
   * What the unacked messages of one socket may weigh together (their frames): a client that never
   * acks holds at most this much of the node's memory, not 256 frames of 200 KiB each.
   */
  static final long UNACKED_BYTES = 1024 * 1024;

  /** One unacked message; {@code handBack} is null for a mailbox message. */
  private static final class Unacked {
    final long writtenAt;
    final CompletableFuture<SocketOutcome> settled;
    final int bytes;
    final Runnable handBack;
    /** Settled already because the socket left the quorum; the client's ack is still waited for. */
    boolean released;

    Unacked(long writtenAt, CompletableFuture<SocketOutcome> settled, int bytes, Runnable handBack) {
      this.writtenAt = writtenAt;
      this.settled = settled;
      this.bytes = bytes;
      this.handBack = handBack;
    }

    /** Holds a Pub/Sub delivery back until settled. */
    boolean gating() {
      return handBack != null && !released;
    }
  }

  private final RecentIds written = new RecentIds(RECENT_IDS);
  /** Written ids pushed out of {@code unacked} by newer ones: their acks are still owed, not abuse. */
  private final RecentIds owed = new RecentIds(RECENT_IDS);
  /** Made at the first message: an idle socket holds none. */
  private LinkedHashMap<String, Unacked> unacked;
  private long unackedBytes;
  /** The socket let a routed message wait past the quorum bound and has not acked anything since. */
  private boolean outOfQuorum;

  /** False when the id was written to this socket before. */
  boolean firstWrite(String id) {
    return written.add(id);
  }

  /** The future that settles {@code id}, written here and not acked yet; null when none is waiting. */
  CompletableFuture<SocketOutcome> waiting(String id) {
    Unacked u = unacked == null ? null : unacked.get(id);
    return u == null ? null : u.settled;
  }

  /**
   * A message handed to the socket; settled as the class doc says. {@code handBack} routes it again
   * (null for a mailbox message, which its entry's release brings back).
   */
  void track(String id, CompletableFuture<SocketOutcome> settled, int bytes, long now, Runnable handBack) {
    if (unacked == null) {
      unacked = new LinkedHashMap<>();
    }
    unacked.put(id, new Unacked(now, settled, bytes, handBack));
    unackedBytes += bytes;
    // pushed out by newer ones, by count or by weight (the newest always stays): taken as delivered
    while (unacked.size() > 1 && (unacked.size() > UNACKED_LIMIT || unackedBytes > UNACKED_BYTES)) {
      Iterator<Map.Entry<String, Unacked>> oldest = unacked.entrySet().iterator();
      Map.Entry<String, Unacked> e = oldest.next();
      oldest.remove();
      settle(e.getKey(), e.getValue(), SocketOutcome.DELIVERED);
    }
  }

  /** The client acked {@code id}: true when it was written here and its ack was owed. It is back in the quorum. */
  boolean acked(String id) {
    Unacked u = unacked == null ? null : unacked.remove(id);
    if (u == null) {
      boolean wasOwed = owed.remove(id);
      outOfQuorum &= !wasOwed;
      return wasOwed;
    }
    outOfQuorum = false;
    unackedBytes -= u.bytes;
    u.settled.complete(SocketOutcome.DELIVERED);
    return true;
  }

  /** The frame of {@code id} is out: a socket out of the quorum settles a routed message now. */
  void writtenOut(String id) {
    Unacked u = unacked == null ? null : unacked.get(id);
    if (outOfQuorum && u != null && u.gating()) {
      release(u);
    }
  }

  /**
   * The frame of {@code id} was not written (the socket is too slow or gone): its copy goes back, and a
   * later copy is no repeat.
   */
  void notWritten(String id) {
    written.remove(id);
    Unacked u = unacked == null ? null : unacked.remove(id);
    if (u != null) {
      unackedBytes -= u.bytes;
      goBack(u);
    }
  }

  /**
   * When the oldest routed message still holding its delivery back was written; {@code Long.MAX_VALUE}
   * when none does.
   */
  long oldestGating() {
    if (unacked != null) {
      for (Unacked u : unacked.values()) {
        if (u.gating()) {
          return u.writtenAt;
        }
      }
    }
    return Long.MAX_VALUE;
  }

  /**
   * Leaves the ack quorum when a routed message written before {@code before} still waits for its ack:
   * every routed message settles as delivered now, and later ones once written, until the next ack.
   * True when it left.
   */
  boolean leaveQuorumIfBehind(long before) {
    long oldest = oldestGating();
    if (oldest == Long.MAX_VALUE || oldest - before >= 0) {
      return false;
    }
    outOfQuorum = true;
    for (Unacked u : unacked.values()) {
      if (u.gating()) {
        release(u);
      }
    }
    return true;
  }

  /** Settles as delivered what was written before {@code before} and is still unacked. */
  void expire(long before) {
    if (unacked == null) {
      return;
    }
    Iterator<Map.Entry<String, Unacked>> it = unacked.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Unacked> e = it.next();
      if (e.getValue().writtenAt - before >= 0) {
        break; // oldest first: the rest are younger
      }
      it.remove();
      settle(e.getKey(), e.getValue(), SocketOutcome.DELIVERED);
    }
  }

  /**
   * The socket is gone: what was written before {@code since} settles as delivered, the rest goes back
   * (a socket closing right after a write may not have handed it to the app, so it is routed again; the
   * client drops repeats by id): settled {@link SocketOutcome#NO_SOCKET}, or by its hand-back when it
   * was settled already because the socket had left the quorum.
   */
  void closed(long since) {
    if (unacked == null) {
      return;
    }
    for (Unacked u : unacked.values()) {
      if (u.writtenAt - since < 0) {
        u.settled.complete(SocketOutcome.DELIVERED);
      } else {
        goBack(u);
      }
    }
    unacked = null;
    unackedBytes = 0;
  }

  int unackedCount() {
    return unacked == null ? 0 : unacked.size();
  }

  boolean outOfQuorum() {
    return outOfQuorum;
  }

  private static void release(Unacked u) {
    u.released = true;
    u.settled.complete(SocketOutcome.DELIVERED);
  }

  private static void goBack(Unacked u) {
    if (u.released) {
      u.handBack.run();
    } else {
      u.settled.complete(SocketOutcome.NO_SOCKET);
    }
  }

  private void settle(String id, Unacked u, SocketOutcome outcome) {
    unackedBytes -= u.bytes;
    owed.add(id);
    u.settled.complete(outcome);
  }
}
