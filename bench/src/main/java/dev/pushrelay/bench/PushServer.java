package dev.pushrelay.bench;

import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One contender running as its own process, pinned to the server CPUs, against the running emulators,
 * under a fresh node id (so it makes its own deliveries subscription, as a new instance does).
 */
final class PushServer implements AutoCloseable {
  /**
   * The peers' delivery subscriptions are ordered by user as our node's is (FANOUT_PEERS_ORDERED, default
   * 1), so that every server gives the same per-user order; 0 leaves theirs unordered.
   */
  static final boolean PEERS_ORDERED = SocketBenchSettings.envInt("FANOUT_PEERS_ORDERED", 1) == 1;

  private static final AtomicInteger SEQ = new AtomicInteger();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  /** A heap space in GC.heap_info: G1 prints one ("garbage-first heap"), Serial and Parallel two generations. */
  private static final Pattern HEAP_USED = Pattern.compile("(?m)^\\s*(\\S.*?)\\s+total \\d+K, used (\\d+)K");

  private final Contender contender;
  private final SocketBenchSettings settings;
  private final ServerProcess process;
  private final String nodeId;
  private final int port;
  private volatile String heapSpaces = "";

  private PushServer(Contender contender, SocketBenchSettings settings, ServerProcess process, String nodeId,
      int port) {
    this.contender = contender;
    this.settings = settings;
    this.process = process;
    this.nodeId = nodeId;
    this.port = port;
  }

  /** Starts the contender for up to {@code maxSockets} sockets, on the stack's emulators, and waits until ready. */
  static PushServer start(Contender contender, SocketBenchSettings s, int maxSockets, String phase) throws Exception {
    return start(contender, s, maxSockets, phase, s.pubsubHost());
  }

  /** The same on the Pub/Sub emulator at {@code pubsubHost}. */
  static PushServer start(Contender contender, SocketBenchSettings s, int maxSockets, String phase, String pubsubHost)
      throws Exception {
    return start(contender, s, maxSockets, phase, pubsubHost, Map.of());
  }

  /** The same with {@code extraEnv} set in the server's environment (a setting of the phase's own). */
  static PushServer start(Contender contender, SocketBenchSettings s, int maxSockets, String phase, String pubsubHost,
      Map<String, String> extraEnv) throws Exception {
    String nodeId = "sb-" + contender.key() + "-" + s.runId() + "-" + SEQ.incrementAndGet();
    int port = s.basePort() + 1;
    Map<String, String> env = new HashMap<>();
    env.put("PORT", Integer.toString(port));
    env.put("RELAY_NODE_ID", nodeId);
    env.put("RELAY_JWT_SECRET", s.jwtSecret());
    env.put("GOOGLE_CLOUD_PROJECT", s.project());
    env.put("PUBSUB_EMULATOR_HOST", pubsubHost);
    env.put("FIRESTORE_EMULATOR_HOST", s.firestoreHost());
    List<String> command;
    URI ready;
    Duration stopGrace;
    if (contender.relay()) {
      env.put("RELAY_MAX_CONNECTIONS", Integer.toString(maxSockets + 100));
      List<String> java = new java.util.ArrayList<>();
      java.add(s.nodeJava());
      java.addAll(s.nodeJvmArgs());
      java.addAll(List.of("-cp", s.nodeCp(), "dev.pushrelay.node.SocketNodeMain"));
      command = java;
      ready = URI.create("http://127.0.0.1:" + port + "/readyz");
      // a graceful stop unregisters every socket and deletes the subscription: give it time
      stopGrace = Duration.ofSeconds(90);
    } else {
      env.put("RELAY_DELIVERIES_TOPIC", s.topology().deliveriesTopicFor(nodeId));
      env.put("RELAY_DELIVERIES_SUBSCRIPTION", s.topology().deliveriesSubscriptionFor(nodeId));
      env.put("RELAY_ACK_DEADLINE_SECONDS", Integer.toString(s.topology().deliveriesAckDeadlineSeconds()));
      env.put("RELAY_DELIVERIES_ORDERED", PEERS_ORDERED ? "1" : "0");
      String script = contender == Contender.WS ? "ws-relay.mjs" : "socketio-relay.mjs";
      command = List.of(s.nodeBin(), "--expose-gc", s.peersDir().resolve(script).toString());
      ready = URI.create("http://127.0.0.1:" + port + "/stats");
      stopGrace = Duration.ofSeconds(30);
    }
    env.putAll(extraEnv);
    ServerProcess p = ServerProcess.start(contender.key(), s.serverCpus(), command, env,
        s.out().resolve("socket-logs").resolve(phase + "-" + nodeId + ".log"), stopGrace);
    try {
      p.awaitHttp(ready, Duration.ofSeconds(60));
    } catch (Exception e) {
      p.close();
      throw e;
    }
    return new PushServer(contender, s, p, nodeId, port);
  }

  Contender contender() {
    return contender;
  }

  String nodeId() {
    return nodeId;
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.alive();
  }

  /** Where a client opens a socket; for Socket.IO the token travels in the CONNECT packet instead. */
  URI socketUri(String token) {
    if (contender.socketIo()) {
      return URI.create("ws://127.0.0.1:" + port + "/socket.io/?EIO=4&transport=websocket");
    }
    if (contender.relay()) {
      // the token goes in the subprotocol, as the JS client sends it: a deployed node takes no query token
      return URI.create("ws://127.0.0.1:" + port + "/ws");
    }
    return URI.create("ws://127.0.0.1:" + port + "/ws?access_token=" + token);
  }

  double cpuSeconds() throws IOException {
    return process.cpuSeconds();
  }

  long rssBytes() throws IOException {
    return process.rssBytes();
  }

  /**
   * Heap in use right after a full collection: for our node {@code jcmd GC.run} then the used figure of
   * {@code GC.heap_info}; for a peer {@code global.gc()} twice, then V8's {@code heapUsed}.
   */
  long heapAfterGcBytes() throws Exception {
    if (contender.relay()) {
      jcmd("GC.run");
      String info = jcmd("GC.heap_info");
      Matcher m = HEAP_USED.matcher(info);
      long usedKb = 0;
      List<String> spaces = new java.util.ArrayList<>();
      while (m.find()) {
        spaces.add(m.group(1));
        usedKb += Long.parseLong(m.group(2));
      }
      if (spaces.isEmpty()) {
        throw new IllegalStateException("no heap figure in jcmd GC.heap_info of pid " + pid() + ":\n" + info);
      }
      heapSpaces = String.join(" + ", spaces);
      return usedKb * 1024;
    }
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/stats?gc=1"))
        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(contender.key() + " stats answered " + r.statusCode() + ": " + r.body());
    }
    return JsonCodec.mapper().readTree(r.body()).path("heapUsed").asLong();
  }

  /** The top of {@code jcmd GC.class_histogram} (live objects by class), for our node only. */
  String classHistogram(int lines) throws Exception {
    if (contender != Contender.RELAY) {
      throw new IllegalStateException("a class histogram needs a JVM");
    }
    String[] all = jcmd("GC.class_histogram").split("\n");
    return String.join("\n", java.util.Arrays.copyOf(all, Math.min(all.length, lines))) + "\n";
  }

  /** The heap spaces GC.heap_info named at the last reading (which collector the JVM chose), or "". */
  String heapSpaces() {
    return heapSpaces;
  }

  private String jcmd(String command) throws Exception {
    Process p = new ProcessBuilder(settings.jcmdBin(), Long.toString(pid()), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + pid() + " " + command + " failed: " + out);
    }
    return out;
  }

  String logTail() {
    return process.tail();
  }

  @Override
  public void close() {
    process.close();
  }
}
