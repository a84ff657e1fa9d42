package dev.pushrelay.node.ws;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps live sockets and drops dead ones: every sweep (one per ping interval, for all sockets of the
 * node at once) pings each socket, and drops one that has sent nothing, pong or frame, for
 * {@code deadAfter}. A dead peer cannot take part in a close handshake, so it is disconnected.
 */
public final class SocketLiveness {
  /** One socket as the sweep sees it. */
  interface Peer {
    long lastHeardNanos();

    void ping();

    void drop();
  }

  private final Set<Peer> peers = ConcurrentHashMap.newKeySet();
  private final long deadAfterNanos;

  public SocketLiveness(Duration deadAfter) {
    this.deadAfterNanos = deadAfter.toNanos();
  }

  void add(Peer peer) {
    peers.add(peer);
  }

  void remove(Peer peer) {
    peers.remove(peer);
  }

  public int size() {
    return peers.size();
  }

  /** Pings the live, drops the dead; returns how many were dropped. */
  public int sweep(long nowNanos) {
    int dropped = 0;
    for (Peer p : peers) {
      if (nowNanos - p.lastHeardNanos() > deadAfterNanos) {
        peers.remove(p);
        p.drop();
        dropped++;
      } else {
        p.ping();
      }
    }
    return dropped;
  }
}
