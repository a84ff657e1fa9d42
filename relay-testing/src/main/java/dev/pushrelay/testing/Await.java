package dev.pushrelay.testing;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one way a test waits for something: it asks again every {@link #POLL} until the answer is there or
 * the timeout has passed, and then fails naming what it waited for. Never a fixed sleep.
 */
public final class Await {
  /** The first pause between two looks; each pause after is twice the last, up to {@link #MAX_POLL}. */
  static final Duration POLL = Duration.ofMillis(20);
  /**
   * The longest pause: a condition that takes long to hold is often costly to look at (a scan of a
   * thousand sockets, a script run), so a long wait looks less often.
   */
  static final Duration MAX_POLL = Duration.ofMillis(250);

  private Await() {}

  /** Waits until {@code condition} holds. */
  public static void until(String what, Duration timeout, BooleanSupplier condition)
      throws InterruptedException, TimeoutException {
    value(what, timeout, () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty());
  }

  /**
   * Waits until {@code condition} holds. On timeout the failure also gives {@code detail}, read at that
   * moment: what was still wrong.
   */
  public static void until(String what, Duration timeout, BooleanSupplier condition, Supplier<String> detail)
      throws InterruptedException, TimeoutException {
    try {
      until(what, timeout, condition);
    } catch (TimeoutException e) {
      throw new TimeoutException(e.getMessage() + ": " + detail.get());
    }
  }

  /** Waits until {@code answer} gives a value, and returns it. */
  public static <T> T value(String what, Duration timeout, Supplier<Optional<T>> answer)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = POLL.toMillis();
    while (true) {
      Optional<T> a = answer.get();
      if (a.isPresent()) {
        return a.get();
      }
      if (System.nanoTime() - deadline > 0) {
        throw new TimeoutException("waited " + timeout + " for " + what);
      }
      TimeUnit.MILLISECONDS.sleep(pause);
      pause = Math.min(MAX_POLL.toMillis(), pause * 2);
    }
  }
}
