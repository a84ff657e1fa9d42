package dev.pushrelay.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop pacing: the i-th action is due at {@code start + i / rate} whatever happened to the earlier
 * ones, and is handed its scheduled time, so latency is taken from when it should have gone out (no
 * coordinated omission when the sender falls behind).
 */
final class OpenLoop {
  /** What runs at each scheduled time. */
  interface Action {
    void run(int index, long scheduledNanos) throws Exception;
  }

  private OpenLoop() {}

  /** Runs {@code count} actions at {@code ratePerSecond}, starting 50 ms from now; returns the start. */
  static long run(double ratePerSecond, int count, Action action) throws Exception {
    long period = (long) (TimeUnit.SECONDS.toNanos(1) / ratePerSecond);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    for (int i = 0; i < count; i++) {
      long due = start + i * period;
      sleepUntil(due);
      action.run(i, due);
    }
    return start;
  }

  static void sleepUntil(long nanoTarget) {
    long now;
    while ((now = System.nanoTime()) < nanoTarget) {
      LockSupport.parkNanos(nanoTarget - now);
    }
  }

  /** Polls {@code done} every 20 ms until it holds or {@code timeoutMillis} passed; true when it held. */
  static boolean await(java.util.function.BooleanSupplier done, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }
}
