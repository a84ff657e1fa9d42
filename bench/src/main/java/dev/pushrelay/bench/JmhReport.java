package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.file.Files;
import java.nio.file.Path;

/** Turns JMH's JSON result file into the Markdown section of docs/BENCHMARKS.md. */
public final class JmhReport {
  private JmhReport() {}

  public static void main(String[] args) throws Exception {
    JsonNode results = JsonCodec.mapper().readTree(Files.readAllBytes(Path.of(args[0])));
    StringBuilder md = new StringBuilder("### JMH — in-process hot paths\n\n");
    md.append("Average time per operation, one fork, 3 × 1 s warm-up, 5 × 1 s measurement; the spread is JMH's "
        + "99.9 % confidence interval. Runs with the stack stopped.\n\n");
    md.append("| benchmark | µs/op | ± (99.9 %) | JVM |\n| --- | --- | --- | --- |\n");
    for (JsonNode r : results) {
      String name = r.path("benchmark").asText().replaceFirst("^.*\\.jmh\\.", "");
      JsonNode m = r.path("primaryMetric");
      md.append(String.format(java.util.Locale.ROOT, "| %s | %.3f | %.3f | %s |%n", name, m.path("score").asDouble(),
          m.path("scoreError").asDouble(), r.path("vmVersion").asText()));
    }
    md.append('\n');
    System.out.print(md);
  }
}
