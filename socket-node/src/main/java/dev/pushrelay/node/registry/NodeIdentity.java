package dev.pushrelay.node.registry;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Who this node is right now. A node's id is a lease: when it loses the lease (it could not renew in
 * time, or another node claimed it for cleanup) it is fenced, stops serving, and comes back as a new
 * incarnation with a new id ({@code base}, then {@code base-i2}, {@code base-i3}, ...), so nothing the
 * cleanup does to the old id can touch the new one.
 */
public final class NodeIdentity {
  private final String base;
  private final AtomicInteger incarnation = new AtomicInteger(1);
  private volatile String id;
  private volatile boolean serving;

  public NodeIdentity(String base) {
    this.base = base;
    this.id = base;
  }

  /** The id of the current incarnation: names its registry entries, its topic and its subscription. */
  public String id() {
    return id;
  }

  /** True while the current incarnation holds its lease and takes sockets. */
  public boolean serving() {
    return serving;
  }

  /** True while {@code nodeId} is the current incarnation and it serves. */
  public boolean serves(String nodeId) {
    return serving && nodeId.equals(id);
  }

  public void serve() {
    serving = true;
  }

  /** Stops serving under the current id. */
  public void fence() {
    serving = false;
  }

  /** Moves on to the next incarnation (not serving yet) and returns its id. */
  public String next() {
    serving = false;
    id = base + "-i" + incarnation.incrementAndGet();
    return id;
  }
}
