package dev.pushrelay.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages of the socket node depend on each other without a cycle: read from the sources, every
 * import and every fully qualified name outside comments counts.
 */
class PackageCyclesTest {
  private static final Path SOURCES = Path.of("src/main/java/dev/pushrelay/node");
  private static final Pattern REFERENCE = Pattern.compile("dev\\.pushrelay\\.node\\.([a-z]+)\\.[A-Z]");

  /** Package (relative to dev.pushrelay.node, "" for the root) to the packages it refers to. */
  static Map<String, Set<String>> dependencies() throws IOException {
    Map<String, Set<String>> graph = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Path dir = SOURCES.relativize(file.getParent());
        String pkg = dir.toString().replace('/', '.');
        Set<String> uses = graph.computeIfAbsent(pkg, p -> new TreeSet<>());
        for (String line : code(Files.readString(file))) {
          Matcher m = REFERENCE.matcher(line);
          while (m.find()) {
            if (!m.group(1).equals(pkg)) {
              uses.add(m.group(1));
            }
          }
        }
      }
    }
    return graph;
  }

  /** The lines of a source file without its comments. */
  private static List<String> code(String source) {
    String noBlocks = source.replaceAll("(?s)/\\*.*?\\*/", "");
    List<String> lines = new ArrayList<>();
    for (String line : noBlocks.split("\n")) {
      int comment = line.indexOf("//");
      lines.add(comment >= 0 ? line.substring(0, comment) : line);
    }
    return lines;
  }

  @Test
  void theNodesPackagesHaveNoCycle() throws IOException {
    Map<String, Set<String>> graph = dependencies();
    assertTrue(graph.containsKey("ws") && graph.get("ws").contains("upstream"), "the graph was read: " + graph);
    List<String> cycle = findCycle(graph);
    assertEquals(List.of(), cycle, "a package cycle in " + graph);
  }

  /** One cycle of the graph as the packages along it, or nothing. */
  static List<String> findCycle(Map<String, Set<String>> graph) {
    Set<String> done = new HashSet<>();
    for (String start : graph.keySet()) {
      List<String> path = new ArrayList<>();
      List<String> cycle = visit(start, graph, path, done);
      if (!cycle.isEmpty()) {
        return cycle;
      }
    }
    return List.of();
  }

  private static List<String> visit(String pkg, Map<String, Set<String>> graph, List<String> path, Set<String> done) {
    int at = path.indexOf(pkg);
    if (at >= 0) {
      List<String> cycle = new ArrayList<>(path.subList(at, path.size()));
      cycle.add(pkg);
      return cycle;
    }
    if (done.contains(pkg)) {
      return List.of();
    }
    path.add(pkg);
    for (String next : graph.getOrDefault(pkg, Set.of())) {
      List<String> cycle = visit(next, graph, path, done);
      if (!cycle.isEmpty()) {
        return cycle;
      }
    }
    path.remove(path.size() - 1);
    done.add(pkg);
    return List.of();
  }

  @Test
  void aCycleIsFound() {
    Map<String, Set<String>> graph = Map.of("ws", Set.of("registry"), "registry", Set.of("delivery"),
        "delivery", Set.of("ws"));
    assertEquals(4, findCycle(new TreeMap<>(graph)).size());
  }
}
