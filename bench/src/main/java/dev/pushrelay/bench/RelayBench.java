package dev.pushrelay.bench;

import java.nio.file.Files;

/**
 * Benchmarks against a running local stack (scripts/run-local.sh). Every load targets 127.0.0.1 and is
 * bounded in count and time. Usage: {@code RelayBench PHASE...} where PHASE is e2e, pending, cost or
 * coldstart; each writes a Markdown section to {@code $BENCH_OUT/PHASE.md}. The settings of each phase are
 * listed on its class; the stack's addresses on {@link BenchContext}.
 */
public final class RelayBench {
  private RelayBench() {}

  public static void main(String[] args) throws Exception {
    BenchContext ctx = BenchContext.fromEnvironment();
    StackClient stack = new StackClient(ctx);
    Files.createDirectories(ctx.out());
    for (String phase : args) {
      long t0 = System.nanoTime();
      System.err.println("== phase " + phase);
      String md = switch (phase) {
        case "e2e" -> new EndToEndPhase(stack).run();
        case "pending" -> new PendingPhase(stack).run();
        case "cost" -> new CostPhase(stack).run();
        case "coldstart" -> new ColdStartPhase(stack).run();
        default -> throw new IllegalArgumentException("unknown phase " + phase);
      };
      Files.writeString(ctx.out().resolve(phase + ".md"), md);
      System.err.printf("== phase %s done in %.1f s%n", phase, (System.nanoTime() - t0) / 1e9);
      System.out.println(md);
    }
    System.exit(0);
  }

  /** An environment setting, or {@code dflt} when unset or blank. */
  static String env(String name, String dflt) {
    return BenchContext.env(name, dflt);
  }

  static int envInt(String name, int dflt) {
    return BenchContext.envInt(name, dflt);
  }
}
