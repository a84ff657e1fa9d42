package dev.pushrelay.node.ws;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The ordered send queue of one socket: frames go out in the order they were offered, and each
 * offer completes when its frame is written. At most {@code capacity} frames and {@code maxChars}
 * characters may be unwritten; beyond that the consumer is too slow: the offer fails and
 * {@code overflowed} runs, once, so the owner can close the socket (1013) without anyone else waiting.
 */
public final class OutboundQueue {
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

  private final Sink sink;
  private final int capacity;
  private final long maxChars;
  private final Runnable overflowed;
  private final AtomicInteger unwritten = new AtomicInteger();
  private final AtomicLong unwrittenChars = new AtomicLong();
  private final AtomicBoolean overflowReported = new AtomicBoolean();

  public OutboundQueue(Sink sink, int capacity) {
    this(sink, capacity, Long.MAX_VALUE, () -> { });
  }

  public OutboundQueue(Sink sink, int capacity, long maxChars, Runnable overflowed) {
    this.sink = sink;
    this.capacity = capacity;
    this.maxChars = maxChars;
    this.overflowed = overflowed;
  }

  /** Callers that need ordering across several offers must serialise their calls. */
  public CompletableFuture<Void> offer(String text) {
    int length = text.length();
    if (unwritten.incrementAndGet() > capacity) {
      unwritten.decrementAndGet();
      return overflow();
    }
    // one frame alone always fits, however large: only a backlog counts against maxChars
    if (unwrittenChars.addAndGet(length) > maxChars && unwritten.get() > 1) {
      unwrittenChars.addAndGet(-length);
      unwritten.decrementAndGet();
      return overflow();
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    sink.sendText(text, () -> {
      unwrittenChars.addAndGet(-length);
      unwritten.decrementAndGet();
      done.complete(null);
    }, error -> {
      unwrittenChars.addAndGet(-length);
      unwritten.decrementAndGet();
      done.completeExceptionally(error);
    });
    return done;
  }

  private CompletableFuture<Void> overflow() {
    if (overflowReported.compareAndSet(false, true)) {
      overflowed.run();
    }
    return CompletableFuture.failedFuture(new OverflowException(capacity));
  }

  public int unwritten() {
    return unwritten.get();
  }
}
