package dev.pushrelay.node.ws;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The send queue of one socket, in two lanes: at most {@link #WINDOW} frames are handed to the socket
 * (Jetty) at a time, and the rest wait here, urgent frames (control frames and {@code high} priority
 * messages) ahead of normal ones, each lane in the order it was offered. A high priority message thus
 * overtakes the normal ones still waiting on a backed-up socket, never those already handed over. Each
 * offer completes when its frame is written. At most {@code capacity} frames and {@code maxChars}
 * characters may be unwritten; beyond that the consumer is too slow: the offer fails and
 * {@code overflowed} runs, once, so the owner can close the socket (1013) without anyone else waiting.
 * What waits unwritten is also counted in the node's {@link NodeMemory}.
 */
public final class OutboundQueue {
  /** Frames handed to the socket at once: enough for Jetty to batch writes, few enough to overtake. */
  static final int WINDOW = 16;

  /** Where frames are written: the socket in production, a recorder in unit tests. */
  public interface Sink {
    void sendText(String text, Runnable written, java.util.function.Consumer<Throwable> failed);
  }

  /** The socket does not keep up. */
  public static final class OverflowException extends RuntimeException {
    public OverflowException(int capacity) {
      super("more than " + capacity + " frames unwritten");
    }
  }

  private record Frame(String text, CompletableFuture<Void> done) {}

  private final Sink sink;
  private final int capacity;
  private final long maxChars;
  private final Runnable overflowed;
  private final NodeMemory memory;
  private final AtomicBoolean overflowReported = new AtomicBoolean();
  // guarded by this
  private final ArrayDeque<Frame> urgent = new ArrayDeque<>(0);
  private final ArrayDeque<Frame> normal = new ArrayDeque<>(0);
  private int unwritten;
  private long unwrittenChars;
  private int handedOver;
  private boolean pumping;
  private boolean pumpAgain;

  public OutboundQueue(Sink sink, int capacity) {
    this(sink, capacity, Long.MAX_VALUE, () -> { }, NodeMemory.unbounded());
  }

  public OutboundQueue(Sink sink, int capacity, long maxChars, Runnable overflowed) {
    this(sink, capacity, maxChars, overflowed, NodeMemory.unbounded());
  }

  public OutboundQueue(Sink sink, int capacity, long maxChars, Runnable overflowed, NodeMemory memory) {
    this.sink = sink;
    this.capacity = capacity;
    this.maxChars = maxChars;
    this.overflowed = overflowed;
    this.memory = memory;
  }

  /** A normal frame. Callers that need ordering across several offers must serialise their calls. */
  public CompletableFuture<Void> offer(String text) {
    return offer(text, false);
  }

  /** {@code urgent}: goes ahead of every normal frame still waiting. */
  public CompletableFuture<Void> offer(String text, boolean urgent) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      // one frame alone always fits, however large: only a backlog counts against maxChars
      if (unwritten + 1 > capacity || (unwritten > 0 && unwrittenChars + text.length() > maxChars)) {
        return overflow();
      }
      unwritten++;
      unwrittenChars += text.length();
      (urgent ? this.urgent : this.normal).add(new Frame(text, done));
    }
    memory.queued(text.length());
    pump();
    return done;
  }

  /**
   * Hands waiting frames to the socket while the window has room. One thread pumps at a time; a
   * completion that comes meanwhile (on that thread, from inside the sink, or on another) makes it look
   * again instead of pumping beside it, so frames are handed over in lane order.
   */
  private void pump() {
    synchronized (this) {
      if (pumping) {
        pumpAgain = true;
        return;
      }
      pumping = true;
    }
    while (true) {
      Frame next;
      synchronized (this) {
        next = handedOver < WINDOW ? (urgent.isEmpty() ? normal.poll() : urgent.poll()) : null;
        if (next == null) {
          if (pumpAgain) {
            pumpAgain = false;
            continue;
          }
          pumping = false;
          return;
        }
        handedOver++;
      }
      Frame frame = next;
      try {
        sink.sendText(frame.text(), () -> finished(frame, null), error -> finished(frame, error));
      } catch (RuntimeException e) {
        finished(frame, e); // a socket that throws instead of failing the write: the lane goes on
      }
    }
  }

  private void finished(Frame frame, Throwable error) {
    synchronized (this) {
      handedOver--;
      unwritten--;
      unwrittenChars -= frame.text().length();
    }
    memory.released(frame.text().length());
    if (error == null) {
      frame.done().complete(null);
    } else {
      frame.done().completeExceptionally(error);
    }
    pump();
  }

  private CompletableFuture<Void> overflow() {
    if (overflowReported.compareAndSet(false, true)) {
      overflowed.run();
    }
    return CompletableFuture.failedFuture(new OverflowException(capacity));
  }

  public synchronized int unwritten() {
    return unwritten;
  }

  /** Characters offered and not yet written. */
  public synchronized long unwrittenChars() {
    return unwrittenChars;
  }
}
