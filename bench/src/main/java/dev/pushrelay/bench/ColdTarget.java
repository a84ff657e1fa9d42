package dev.pushrelay.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A process the cold-start phase starts again and again: how to launch it and when it counts as ready. */
interface ColdTarget {
  /** Short name for logs and archive files ("node", "send"). */
  String name();

  /** What "ready" means, for the report. */
  String readiness();

  /** JVM flags of every start of this target on a JDK of version {@code major}, before the variant's own. */
  default List<String> jvmFlags(int major) {
    return List.of();
  }

  /** The command line after {@code java} and the JVM flags. */
  List<String> arguments();

  /** Environment added for one start; {@code tag} is unique per start. */
  Map<String, String> environment(String tag);

  /**
   * Polls the fresh process every 10 ms until it is ready; returns {@link System#nanoTime()} at that
   * moment. Throws when the process died or {@code deadlineNanos} passed.
   */
  long awaitReady(Process process, long deadlineNanos) throws Exception;

  /** Training only, after ready: drive the first requests a real instance serves. */
  void exercise(String tag) throws Exception;

  /** One HTTP call of a readiness poll: its status code. */
  interface StatusCall {
    int status() throws java.io.IOException, InterruptedException;
  }

  /**
   * Calls {@code call} every 10 ms until it answers {@code expected}; returns {@link System#nanoTime()} at
   * that moment. A refused connection (not bound yet) counts as not ready.
   */
  static long pollUntil(Process process, long deadlineNanos, int expected, StatusCall call, String what)
      throws Exception {
    while (System.nanoTime() < deadlineNanos && process.isAlive()) {
      try {
        if (call.status() == expected) {
          return System.nanoTime();
        }
      } catch (java.io.IOException notListening) {
        // not bound yet
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException(what + " (alive: " + process.isAlive() + ")");
  }

  /** The jars of a {@code dir/*} classpath entry, sorted, so every start sees one order (CDS checks it). */
  static String expand(String classpath) {
    StringBuilder b = new StringBuilder();
    for (String entry : classpath.split(":")) {
      List<String> parts;
      if (entry.endsWith("/*")) {
        Path dir = Path.of(entry.substring(0, entry.length() - 2));
        try (var files = java.nio.file.Files.list(dir)) {
          parts = files.map(Path::toString).filter(f -> f.endsWith(".jar")).sorted().toList();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      } else {
        parts = List.of(entry);
      }
      for (String p : parts) {
        b.append(b.length() > 0 ? ":" : "").append(p);
      }
    }
    return b.toString();
  }
}
