package dev.pushrelay.bench;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/** A thread-safe HdrHistogram of latencies in microseconds (1 µs to 60 s, 3 significant digits). */
final class LatencyRecorder {
  static final long MAX_US = TimeUnit.SECONDS.toMicros(60);

  private Histogram histogram = new Histogram(MAX_US, 3);

  /** Records {@code nowNanos - sinceNanos}, clamped to the histogram's range. */
  synchronized void record(long sinceNanos, long nowNanos) {
    histogram.recordValue(Math.min(MAX_US, Math.max(0, (nowNanos - sinceNanos) / 1000)));
  }

  synchronized long count() {
    return histogram.getTotalCount();
  }

  /** What was recorded since the last reset; starts over. */
  synchronized Histogram reset() {
    Histogram h = histogram;
    histogram = new Histogram(MAX_US, 3);
    return h;
  }

  static double ms(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1000.0;
  }

  /** p50, p99 and p99.9 in milliseconds. */
  static double[] percentiles(Histogram h) {
    return new double[] {ms(h, 50), ms(h, 99), ms(h, 99.9)};
  }
}
