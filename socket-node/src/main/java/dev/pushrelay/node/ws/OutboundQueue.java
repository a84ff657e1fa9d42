package dev.pushrelay.node.ws;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ordered send queue of one socket: frames go out in the order they were offered, and each
 * offer completes when its frame is written. At most {@code capacity} frames may be unwritten;
 * beyond that the consumer is too slow and the offer fails.
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
  private final AtomicInteger unwritten = new AtomicInteger();

  public OutboundQueue(Sink sink, int capacity) {
    this.sink = sink;
    this.capacity = capacity;
  }

  /** Callers that need ordering across several offers must serialise their calls. */
  public CompletableFuture<Void> offer(String text) {
    if (unwritten.incrementAndGet() > capacity) {
      unwritten.decrementAndGet();
      return CompletableFuture.failedFuture(new OverflowException(capacity));
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    sink.sendText(text, () -> {
      unwritten.decrementAndGet();
      done.complete(null);
    }, error -> {
      unwritten.decrementAndGet();
      done.completeExceptionally(error);
    });
    return done;
  }

  public int unwritten() {
    return unwritten.get();
  }
}
