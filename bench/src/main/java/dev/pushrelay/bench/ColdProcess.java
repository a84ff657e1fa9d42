package dev.pushrelay.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One start of a {@link ColdTarget}: launched, timed to ready, stopped with SIGTERM and waited for. */
final class ColdProcess {
  private ColdProcess() {}

  /** Time from just before the launch to ready, in milliseconds; the process is stopped before returning. */
  static double timeToReady(ColdTarget target, JvmVariant variant, List<String> jvmFlags, String tag, Path log,
      String cpus) throws Exception {
    return run(target, variant, jvmFlags, tag, log, cpus, false, 30);
  }

  /**
   * Starts, waits for ready, optionally exercises the target, stops it and waits up to {@code exitSeconds}
   * for the exit (a training run writes its archive then). Returns milliseconds to ready.
   */
  static double run(ColdTarget target, JvmVariant variant, List<String> jvmFlags, String tag, Path log, String cpus,
      boolean exercise, int exitSeconds) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (cpus != null && !cpus.isBlank()) {
      cmd.addAll(List.of("taskset", "-c", cpus));
    }
    cmd.add(variant.java().toString());
    cmd.addAll(target.jvmFlags(variant.major()));
    cmd.addAll(jvmFlags);
    cmd.addAll(target.arguments());
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(target.environment(tag));
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    long t0 = System.nanoTime();
    Process p = pb.start();
    try {
      long ready = target.awaitReady(p, t0 + TimeUnit.SECONDS.toNanos(60));
      if (exercise) {
        target.exercise(tag);
      }
      return (ready - t0) / 1e6;
    } catch (Exception e) {
      throw new IllegalStateException(target.name() + " " + variant.name() + " (" + tag + "): " + e.getMessage()
          + "; see " + log, e);
    } finally {
      stop(p, exitSeconds);
    }
  }

  /** SIGTERM, then SIGKILL when it has not exited in time. */
  static void stop(Process p, int exitSeconds) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(exitSeconds, TimeUnit.SECONDS)) {
      System.err.println("pid " + p.pid() + " did not exit in " + exitSeconds + " s; killing it");
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  /** Classes loaded per the {@code -Xlog:class+load} file: {total, from a shared archive}. */
  static long[] classCounts(Path classLog) throws IOException {
    long total = 0;
    long shared = 0;
    for (String line : Files.readAllLines(classLog)) {
      if (!line.contains("source:")) {
        continue;
      }
      total++;
      if (line.contains("shared objects file")) {
        shared++;
      }
    }
    return new long[] {total, shared};
  }
}
