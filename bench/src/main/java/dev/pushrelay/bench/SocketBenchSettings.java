package dev.pushrelay.bench;

import dev.pushrelay.topology.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What phases 1-3 need, read from the environment once; every missing variable is reported together.
 *
 * @param javaBin the java that runs this benchmark and the Jetty echo
 * @param nodeJava the java our socket node and the Jetty echo run on (SOCKET_NODE_JAVA; default {@code javaBin})
 * @param nodeJvmArgs flags for that java, one per line of the file SOCKET_NODE_JVM_ARGS (the image's
 *     jvm.args), none by default
 * @param serverCpus taskset CPU list for the server under test ("" = not pinned)
 * @param clientCpus taskset CPU list for this JVM, the load generator ("" = not pinned)
 * @param pubsubEmulatorJar the gcloud Pub/Sub emulator's jar, for the fan-out phase's own emulator
 * @param fanoutEmulatorHeap its -Xmx
 * @param basePort first of the ports the phases' own servers listen on (a few above it are used)
 */
record SocketBenchSettings(
    Path out,
    String nodeCp,
    String benchCp,
    Path peersDir,
    String nodeBin,
    String javaBin,
    String nodeJava,
    List<String> nodeJvmArgs,
    String project,
    String pubsubHost,
    String firestoreHost,
    String jwtSecret,
    String pubsubEmulatorJar,
    String fanoutEmulatorHeap,
    int basePort,
    String serverCpus,
    String clientCpus,
    Topology topology,
    String runId) {

  static SocketBenchSettings fromEnvironment() {
    List<String> problems = new ArrayList<>();
    String java = ProcessHandle.current().info().command().orElse("java");
    Path peers = Path.of(env("PEERS_DIR", "bench/peers")).toAbsolutePath();
    SocketBenchSettings s = new SocketBenchSettings(
        Path.of(env("BENCH_OUT", "bench/target/results")),
        required("NODE_CP", problems),
        System.getProperty("java.class.path"),
        peers,
        env("NODE_BIN", "node"),
        java,
        env("SOCKET_NODE_JAVA", java),
        jvmArgs(env("SOCKET_NODE_JVM_ARGS", ""), problems),
        env("GOOGLE_CLOUD_PROJECT", "relay-local"),
        required("PUBSUB_EMULATOR_HOST", problems),
        required("FIRESTORE_EMULATOR_HOST", problems),
        required("RELAY_JWT_SECRET", problems),
        env("PUBSUB_EMULATOR_JAR", ""),
        env("FANOUT_EMULATOR_HEAP", "1g"),
        envInt("SOCKET_BENCH_PORT", 18200),
        env("SERVER_CPUS", "1"),
        env("CLIENT_CPUS", "0"),
        Topology.standard(),
        Long.toString(System.currentTimeMillis(), 36));
    if (!Files.isDirectory(peers.resolve("node_modules"))) {
      problems.add("no " + peers.resolve("node_modules") + ": run npm install in " + peers);
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException("socket bench settings: " + String.join("; ", problems));
    }
    return s;
  }

  /** The jcmd of the JDK {@link #nodeJava} belongs to (symlinks resolved), for our node's heap after a GC. */
  String jcmdBin() {
    try {
      Path jcmd = Path.of(nodeJava).toRealPath().resolveSibling("jcmd");
      return Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd";
    } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
      return "jcmd";
    }
  }

  /** The node's JVM flags as the reports show them. */
  String nodeJvmFlags() {
    return nodeJvmArgs.isEmpty() ? "default" : "`" + String.join(" ", nodeJvmArgs) + "`";
  }

  /** {@code node --version}, for the reports. */
  String nodeVersion() {
    return firstLine(nodeBin, "--version");
  }

  /** The first line of {@code java -version} of {@link #nodeJava}, for the reports. */
  String nodeJavaVersion() {
    return firstLine(nodeJava, "-version");
  }

  private static String firstLine(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor();
      return out.lines().findFirst().orElse("?");
    } catch (java.io.IOException e) {
      return "(" + String.join(" ", command) + " failed: " + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  static String env(String name, String dflt) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? dflt : v.trim();
  }

  static int envInt(String name, int dflt) {
    String v = env(name, Integer.toString(dflt));
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, was '" + v + "'", e);
    }
  }

  static int[] envInts(String name, String dflt) {
    String v = env(name, dflt);
    try {
      return Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt)
          .toArray();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a comma-separated list of integers, was '" + v + "'", e);
    }
  }

  private static List<String> jvmArgs(String file, List<String> problems) {
    if (file.isEmpty()) {
      return List.of();
    }
    try {
      return Files.readAllLines(Path.of(file)).stream().map(String::trim)
          .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    } catch (java.io.IOException e) {
      problems.add("SOCKET_NODE_JVM_ARGS: cannot read " + file + " (" + e + ")");
      return List.of();
    }
  }

  private static String required(String name, List<String> problems) {
    String v = System.getenv(name);
    if (v == null || v.isBlank()) {
      problems.add(name + " is not set");
      return "";
    }
    return v;
  }
}
