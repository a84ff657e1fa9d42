package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Turns JMH's JSON result file into the Markdown section of docs/BENCHMARKS.md. */
public final class JmhReport {
  private JmhReport() {}

  public static void main(String[] args) throws Exception {
    JsonNode results = JsonCodec.mapper().readTree(Files.readAllBytes(Path.of(args[0])));
    JsonNode first = results.path(0);
    StringBuilder md = new StringBuilder("### JMH — in-process hot paths\n\n");
    md.append(String.format(Locale.ROOT, "Average time per operation; %d fork(s), %d × %s warm-up, %d × %s "
            + "measurement, one thread; the spread is JMH's 99.9 %% confidence interval. Runs with the stack "
            + "stopped. `CodecBench`: the per-message JSON work (parse a delivery, build the socket frame). "
            + "`SendQueueBench`: the socket node's per-connection send path without the network — "
            + "`OutboundQueue.offer` with the write completed at once, 64 frames queued behind a busy socket "
            + "then written in order (per frame), and a routed message through `Connection` (its serial "
            + "event, duplicate check, unacked tracking, frame JSON, queue) plus the client's ack frame.%n%n",
        first.path("forks").asInt(), first.path("warmupIterations").asInt(), first.path("warmupTime").asText(),
        first.path("measurementIterations").asInt(), first.path("measurementTime").asText()));
    md.append("| benchmark | µs/op | ± (99.9 %) | JVM |\n| --- | --- | --- | --- |\n");
    for (JsonNode r : results) {
      String name = r.path("benchmark").asText().replaceFirst("^.*\\.jmh\\.", "");
      JsonNode m = r.path("primaryMetric");
      double error = m.path("scoreError").asDouble(Double.NaN);
      md.append(String.format(Locale.ROOT, "| %s | %.3f | %s | %s |%n", name, m.path("score").asDouble(),
          Double.isNaN(error) ? "n/a" : String.format(Locale.ROOT, "%.3f", error), r.path("vmVersion").asText()));
    }
    md.append('\n');
    System.out.print(md);
  }
}
