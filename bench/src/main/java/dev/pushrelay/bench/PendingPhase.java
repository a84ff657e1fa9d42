package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * Phase 5: a message parked while its user had no socket, from {@code connection_established} to that
 * message's frame, both taken on arrival at the client. Settings: PENDING_SAMPLES (20 per run),
 * PENDING_REPEATS (3).
 */
final class PendingPhase {
  private final StackClient stack;
  private final BenchContext ctx;

  PendingPhase(StackClient stack) {
    this.stack = stack;
    this.ctx = stack.context();
  }

  String run() throws Exception {
    int samples = BenchContext.envInt("PENDING_SAMPLES", 20);
    int repeats = BenchContext.envInt("PENDING_REPEATS", 3);
    List<double[]> runs = new ArrayList<>();
    Histogram pooled = new Histogram(LatencyRecorder.MAX_US, 3);
    for (int rep = 0; rep < repeats; rep++) {
      LatencyRecorder run = new LatencyRecorder();
      for (int i = 0; i < samples; i++) {
        sample("bench-pend-" + ctx.runId() + "-" + rep + "-" + i, i % 2 == 0 ? ctx.node1Url() : ctx.node2Url(), run);
      }
      Histogram h = run.reset();
      pooled.add(h);
      runs.add(new double[] {LatencyRecorder.ms(h, 50), LatencyRecorder.ms(h, 99), h.getMaxValue() / 1000.0});
      System.err.printf(java.util.Locale.ROOT, "pending run %d: p50 %.1f p99 %.1f max %.1f ms%n", rep,
          runs.get(rep)[0], runs.get(rep)[1], runs.get(rep)[2]);
    }
    return "### Phase 5 — pending delivery\n\n"
        + String.format("Send to user U with no socket, wait until the route function parked it (its "
        + "`relay_mailbox_parked_total` moved), connect (alternating node 1 and 2); time from the "
        + "`connection_established` frame to the first `message` frame, both taken on arrival at the client. "
        + "%d runs of %d samples each; per run p50, p99 and maximum, median (min–max) over the runs, and the "
        + "p99 of all samples pooled. Milliseconds.%n%n", repeats, samples)
        + "| runs × samples | p50 ms | p99 ms | max ms | p99 all runs |\n| --- | --- | --- | --- | --- |\n"
        + String.format("| %d × %d | %s | %s | %s | %s |%n%n", repeats, samples, col(runs, 0), col(runs, 1),
            col(runs, 2), Stats.fmt(LatencyRecorder.ms(pooled, 99), 1))
        + "Goal: p99 under 250 ms.\n\n";
  }

  private void sample(String user, String nodeUrl, LatencyRecorder into) throws Exception {
    double parkedBefore = stack.parkedTotal();
    stack.send(user, "pend-" + user);
    if (!OpenLoop.await(() -> parkedTotal() > parkedBefore, 15_000)) {
      throw new IllegalStateException("message for " + user + " not parked within 15 s");
    }
    AtomicLong first = new AtomicLong();
    CountDownLatch got = new CountDownLatch(1);
    try (BenchSocket s = stack.socket(nodeUrl, user, (frame, now) -> {
      if (first.compareAndSet(0, now)) {
        got.countDown();
      }
    })) {
      long established = s.awaitEstablished();
      if (!got.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("no parked message for " + user + " within 10 s");
      }
      into.record(established, first.get());
    }
  }

  private double parkedTotal() {
    try {
      return stack.parkedTotal();
    } catch (Exception e) {
      throw new IllegalStateException("cannot scrape the route function's metrics", e);
    }
  }

  private static String col(List<double[]> runs, int i) {
    return Stats.medianSpread(runs.stream().map(r -> r[i]).toList(), 1);
  }
}
