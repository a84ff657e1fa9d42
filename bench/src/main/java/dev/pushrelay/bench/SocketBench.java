package dev.pushrelay.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Phases 1-3 of the benchmark (issue 7): {@code ceiling} (WebSocket echo round trips), {@code idle}
 * (memory per idle socket), {@code flood} (the heap a flood of unauthenticated handshakes leaves) and
 * {@code fanout} (delivery rate and CPU per message), our socket node
 * against the npm peers in bench/peers. Each phase writes $BENCH_OUT/PHASE.md. Usage: SocketBench
 * PHASE...; idle and fanout need the local stack's emulators (scripts/bench.sh starts them).
 *
 * <p>Settings (environment): BENCH_OUT, NODE_CP, PEERS_DIR, NODE_BIN, GOOGLE_CLOUD_PROJECT,
 * PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, RELAY_JWT_SECRET, SOCKET_BENCH_PORT, SERVER_CPUS,
 * CLIENT_CPUS, and each phase's knobs (CEILING_*, IDLE_*, FANOUT_*; see the phase classes).
 */
public final class SocketBench {
  private SocketBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: SocketBench ceiling|idle|flood|fanout ...");
      System.exit(2);
    }
    SocketBenchSettings s = SocketBenchSettings.fromEnvironment();
    Files.createDirectories(s.out());
    pinSelf(s.clientCpus());
    for (String phase : args) {
      long t0 = System.nanoTime();
      System.err.println("== phase " + phase);
      clearLogs(s.out().resolve("socket-logs"), phase);
      String md = switch (phase) {
        case "ceiling" -> new CeilingPhase(s).run();
        case "idle" -> new IdlePhase(s).run();
        case "fanout" -> new FanoutPhase(s).run();
        case "flood" -> new FloodPhase(s).run();
        default -> throw new IllegalArgumentException("unknown phase " + phase + " (ceiling, idle, flood, fanout)");
      };
      Files.writeString(s.out().resolve(phase + ".md"), md);
      System.err.printf("== phase %s done in %.1f s%n", phase, (System.nanoTime() - t0) / 1e9);
      System.out.println(md);
    }
    System.exit(0);
  }

  /** The server logs a phase left last time ({@code PHASE-*.log}): each run keeps only its own. */
  private static void clearLogs(Path dir, String phase) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, phase + "-*.log")) {
      for (Path p : old) {
        Files.delete(p);
      }
    }
  }

  /** Pins every thread of this JVM (the load generator) to the client CPUs; new threads inherit it. */
  private static void pinSelf(String cpus) throws Exception {
    if (cpus.isBlank()) {
      return;
    }
    Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", cpus, Long.toString(ProcessHandle.current().pid()))
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException("taskset -a -p -c " + cpus + " failed: " + out);
    }
  }
}
