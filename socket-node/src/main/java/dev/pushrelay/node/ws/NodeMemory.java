package dev.pushrelay.node.ws;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's memory budget over what its sockets hold for their clients: every frame queued on a socket
 * and not yet written, the mailbox catch-ups included (they go out through the same queues), counted at
 * two bytes a character, the most a Java string takes. A socket's own bounds (1,024 frames, 4 Mi
 * characters) hold each socket; this holds their sum, which a crowd of slow readers could otherwise grow
 * to gigabytes on one heap. Past it, {@link ConnectionHub} refuses new sockets (503) and sheds the socket
 * that holds the most (1013), one a tick, until the node is back under.
 */
public final class NodeMemory {
  private final long budget;
  private final AtomicLong used = new AtomicLong();

  /** {@code budgetBytes}: what the queues of every socket may hold together. */
  public NodeMemory(long budgetBytes) {
    if (budgetBytes < 1) {
      throw new IllegalArgumentException("a memory budget must be positive");
    }
    this.budget = budgetBytes;
  }

  /** No budget: for tools and tests that hold a few sockets. */
  public static NodeMemory unbounded() {
    return new NodeMemory(Long.MAX_VALUE);
  }

  /** A frame of {@code chars} characters was queued. */
  void queued(int chars) {
    used.addAndGet(2L * chars);
  }

  /** A frame of {@code chars} characters was written, or failed: it is held no more. */
  void released(int chars) {
    used.addAndGet(-2L * chars);
  }

  public boolean over() {
    return used.get() > budget;
  }

  public long used() {
    return used.get();
  }

  public long budget() {
    return budget;
  }
}
