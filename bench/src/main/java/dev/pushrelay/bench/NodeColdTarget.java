package dev.pushrelay.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A fresh socket node against the running emulators: a new node id each start, so each makes its own
 * deliveries subscription and registry entry as a new Cloud Run instance does. Ready at the first 200
 * from {@code /readyz}.
 */
final class NodeColdTarget implements ColdTarget {
  /** Cloud Run's default instance for the node (terraform: socket_node_memory). */
  static final String INSTANCE_MEMORY = "1g";

  private final StackClient stack;
  private final String classpath;
  private final int port;
  private final List<String> imageFlags;

  /** {@code imageFlags}: the image's JVM flags, socket-node/src/main/jib/app/jvm.args, one per line. */
  NodeColdTarget(StackClient stack, String classpath, int port, Path imageFlags) throws IOException {
    this.stack = stack;
    this.classpath = ColdTarget.expand(classpath);
    this.port = port;
    this.imageFlags = Files.readAllLines(imageFlags).stream().map(String::trim).filter(l -> !l.isEmpty()).toList();
  }

  /** The image's flags (less those this JDK does not know) and the instance's memory. */
  @Override
  public List<String> jvmFlags(int major) {
    List<String> flags = new ArrayList<>(imageFlags.stream()
        .filter(f -> major >= 23 || !f.startsWith("--sun-misc-unsafe-memory-access")).toList());
    flags.add("-XX:MaxRAM=" + INSTANCE_MEMORY);
    return flags;
  }

  @Override
  public String name() {
    return "node";
  }

  @Override
  public String readiness() {
    return "socket node: process start to the first `200` from `/readyz` (port bound, subscription created and "
        + "pulling, first heartbeat written)";
  }

  @Override
  public List<String> arguments() {
    return List.of("-cp", classpath, "dev.pushrelay.node.SocketNodeMain");
  }

  @Override
  public Map<String, String> environment(String tag) {
    return Map.of("PORT", Integer.toString(port), "RELAY_NODE_ID", tag, "RELAY_LOCAL_MODE", "true",
        "RELAY_SEND_URL", stack.context().sendUrl());
  }

  @Override
  public long awaitReady(Process process, long deadlineNanos) throws Exception {
    HttpRequest ready = HttpRequest.newBuilder(URI.create(base() + "/readyz"))
        .timeout(Duration.ofMillis(500)).GET().build();
    return ColdTarget.pollUntil(process, deadlineNanos, 200,
        () -> stack.http().send(ready, HttpResponse.BodyHandlers.discarding()).statusCode(), "node not ready");
  }

  /** A socket on the fresh node and one message routed to it through the stack. */
  @Override
  public void exercise(String tag) throws Exception {
    String user = "bench-cold-" + tag;
    CompletableFuture<Long> got = new CompletableFuture<>();
    try (BenchSocket s = stack.socket(base(), user, (frame, now) -> got.complete(now))) {
      s.awaitEstablished();
      stack.send(user, "cold-" + tag);
      got.get(15, TimeUnit.SECONDS);
    }
  }

  private String base() {
    return "http://127.0.0.1:" + port;
  }
}
