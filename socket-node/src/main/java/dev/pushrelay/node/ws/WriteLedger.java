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
 * owed ack is not abuse. Touched only on its {@link Connection}'s events; times are the node's
 * monotonic nanoseconds.
 */
final class WriteLedger {
  private static final int RECENT_IDS = 2048;
  static final int UNACKED_LIMIT = 256;
  /**
   * What the unacked messages of one socket may weigh together (their frames): a client that never
   * acks holds at most this much of the node's memory, not 256 frames of 200 KiB each.
   */
  static final long UNACKED_BYTES = 1024 * 1024;

  private record Unacked(long writtenAt, CompletableFuture<SocketOutcome> settled, int bytes) {}

  private final RecentIds written = new RecentIds(RECENT_IDS);
  /** Written ids pushed out of {@code unacked} by newer ones: their acks are still owed, not abuse. */
  private final RecentIds owed = new RecentIds(RECENT_IDS);
  /** Made at the first message: an idle socket holds none. */
  private LinkedHashMap<String, Unacked> unacked;
  private long unackedBytes;

  /** False when the id was written to this socket before. */
  boolean firstWrite(String id) {
    return written.add(id);
  }

  /** The future that settles {@code id}, written here and not acked yet; null when none is waiting. */
  CompletableFuture<SocketOutcome> waiting(String id) {
    Unacked u = unacked == null ? null : unacked.get(id);
    return u == null ? null : u.settled();
  }

  /** A message handed to the socket; settled as the class doc says. */
  void track(String id, CompletableFuture<SocketOutcome> settled, int bytes, long now) {
    if (unacked == null) {
      unacked = new LinkedHashMap<>();
    }
    unacked.put(id, new Unacked(now, settled, bytes));
    unackedBytes += bytes;
    // pushed out by newer ones, by count or by weight (the newest always stays): taken as delivered
    while (unacked.size() > 1 && (unacked.size() > UNACKED_LIMIT || unackedBytes > UNACKED_BYTES)) {
      Iterator<Map.Entry<String, Unacked>> oldest = unacked.entrySet().iterator();
      Map.Entry<String, Unacked> e = oldest.next();
      oldest.remove();
      settle(e.getKey(), e.getValue(), SocketOutcome.DELIVERED);
    }
  }

  /** The client acked {@code id}: true when it was written here and its ack was owed. */
  boolean acked(String id) {
    Unacked u = unacked == null ? null : unacked.remove(id);
    if (u == null) {
      return owed.remove(id);
    }
    unackedBytes -= u.bytes();
    u.settled().complete(SocketOutcome.DELIVERED);
    return true;
  }

  /**
   * The frame of {@code id} was not written (the socket is too slow or gone): its copy goes back, and a
   * later copy is no repeat.
   */
  void notWritten(String id) {
    written.remove(id);
    Unacked u = unacked == null ? null : unacked.remove(id);
    if (u != null) {
      unackedBytes -= u.bytes();
      u.settled().complete(SocketOutcome.NO_SOCKET);
    }
  }

  /** Settles as delivered what was written before {@code before} and is still unacked. */
  void expire(long before) {
    if (unacked == null) {
      return;
    }
    Iterator<Map.Entry<String, Unacked>> it = unacked.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Unacked> e = it.next();
      if (e.getValue().writtenAt() - before >= 0) {
        break; // oldest first: the rest are younger
      }
      it.remove();
      settle(e.getKey(), e.getValue(), SocketOutcome.DELIVERED);
    }
  }

  /**
   * The socket is gone: what was written before {@code since} settles as delivered, the rest
   * {@link SocketOutcome#NO_SOCKET} (a socket closing right after a write may not have handed it to the
   * app, so it is routed again; the client drops repeats by id).
   */
  void closed(long since) {
    if (unacked == null) {
      return;
    }
    for (Unacked u : unacked.values()) {
      u.settled().complete(u.writtenAt() - since < 0 ? SocketOutcome.DELIVERED : SocketOutcome.NO_SOCKET);
    }
    unacked = null;
    unackedBytes = 0;
  }

  int unackedCount() {
    return unacked == null ? 0 : unacked.size();
  }

  private void settle(String id, Unacked u, SocketOutcome outcome) {
    unackedBytes -= u.bytes();
    owed.add(id);
    u.settled().complete(outcome);
  }
}
