package dev.pushrelay.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.gcp.CallLedger;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.EmulatorProcess;
import dev.pushrelay.testing.FakeCloudTelemetry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The whole local stack, started with the README's command {@code scripts/run-local.sh} on free
 * ports, as a user runs it; closing it sends SIGTERM to the script, which stops what it started.
 */
public final class LocalStack implements AutoCloseable {
  private final Process process;
  private final Map<String, Integer> ports;
  private final Path logDir;
  private final Map<String, String> deployablesEnv;
  private final FakeCloudTelemetry cloudTelemetry;
  private final HttpClient http = HttpClient.newHttpClient();
  private StackProbe probe;

  private LocalStack(Process process, Map<String, Integer> ports, Path logDir, Map<String, String> deployablesEnv,
      FakeCloudTelemetry cloudTelemetry) {
    this.process = process;
    this.ports = ports;
    this.logDir = logDir;
    this.deployablesEnv = deployablesEnv;
    this.cloudTelemetry = cloudTelemetry;
  }

  /** The repository's root (the build passes it as {@code relay.repo.root}; else the parent of e2e). */
  static Path repoRoot() {
    return Path.of(System.getProperty("relay.repo.root", "..")).toAbsolutePath().normalize();
  }

  /** Where the stack's deployables write their calls (the permission ledger in infra-tests reads it). */
  static Path callLedger() {
    return repoRoot().resolve("e2e/target/call-ledger");
  }

  /**
   * Where each stack leaves the shapes of the time series its deployables wrote to Cloud Monitoring (its
   * fake): infra-tests compares them with the alert policies' queries.
   */
  static Path cloudSeries() {
    return repoRoot().resolve("e2e/target/cloud-telemetry/series.jsonl");
  }

  public static LocalStack start(Map<String, String> extraEnv) throws Exception {
    Path root = repoRoot();
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String name : List.of("PUBSUB_PORT", "FIRESTORE_PORT", "SEND_PORT", "ROUTE_PORT", "NODE1_PORT",
        "NODE2_PORT")) {
      ports.put(name, EmulatorProcess.freePort());
    }
    Path logDir = Files.createTempDirectory(root.resolve("e2e/target"), "stack-");
    ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("scripts/run-local.sh").toString())
        .directory(root.toFile())
        .redirectErrorStream(true);
    ports.forEach((k, v) -> pb.environment().put(k, Integer.toString(v)));
    pb.environment().put("RELAY_LOG_DIR", logDir.toString());
    Map<String, String> deployablesEnv = new LinkedHashMap<>();
    // every deployable writes down the Google API calls it makes: infra-tests' permission ledger reads them
    deployablesEnv.put(CallLedger.VARIABLE, callLedger().toString());
    // and exports its metrics and spans as in the cloud (Terraform's default), to a fake of the two APIs
    FakeCloudTelemetry cloudTelemetry = FakeCloudTelemetry.start();
    deployablesEnv.put("RELAY_CLOUD_TELEMETRY", "true");
    deployablesEnv.put("RELAY_CLOUD_TELEMETRY_EMULATOR_HOST", cloudTelemetry.host());
    deployablesEnv.put("OTEL_METRIC_EXPORT_INTERVAL", "5000");
    deployablesEnv.putAll(extraEnv);
    pb.environment().putAll(deployablesEnv);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      cloudTelemetry.close();
      throw e;
    }
    LocalStack stack = new LocalStack(p, ports, logDir, deployablesEnv, cloudTelemetry);
    CompletableFuture<Boolean> ready = new CompletableFuture<>();
    List<String> output = new ArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (output) {
            output.add(line);
          }
          if (line.startsWith("relay ready:")) {
            ready.complete(true);
          }
        }
      } catch (IOException e) {
        // the stack has gone
      }
      ready.complete(false);
    }, "local-stack-output");
    reader.setDaemon(true);
    reader.start();
    boolean up;
    try {
      up = ready.get(240, TimeUnit.SECONDS);
    } catch (Exception e) {
      up = false;
    }
    if (!up) {
      stack.close();
      synchronized (output) {
        throw new IllegalStateException("local stack did not become ready; output: " + output + "; logs in " + logDir);
      }
    }
    return stack;
  }

  public int port(String name) {
    return ports.get(name);
  }

  public URI sendUrl() {
    return URI.create("http://127.0.0.1:" + port("SEND_PORT") + "/v1/messages");
  }

  public URI node(int n) {
    return URI.create("http://127.0.0.1:" + port("NODE" + n + "_PORT"));
  }

  /** A dev token from a node in local mode, the way the demo page gets one. */
  public String devToken(int node, String userId) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(node(node).resolve("/dev/token?userId=" + userId))
        .build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("dev token: " + r.statusCode() + " " + r.body());
    }
    return JsonCodec.read(r.body().getBytes(StandardCharsets.UTF_8)).get("token").asText();
  }

  public URI socket(int node, String token) {
    return URI.create("ws://127.0.0.1:" + port("NODE" + node + "_PORT") + "/ws?access_token=" + token);
  }

  public HttpResponse<String> send(String contentType, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(sendUrl()).POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Sends one {@code agent_update} event with {@code data} (JSON) to {@code user} through the send function,
   * fails unless it answered 202, and gives the message's id.
   */
  public String sendEvent(String user, String data) throws Exception {
    HttpResponse<String> r = send("application/json",
        "{\"userId\":\"" + user + "\",\"event\":\"agent_update\",\"data\":" + data + "}");
    if (r.statusCode() != 202) {
      throw new AssertionError("the send function answered " + r.statusCode() + ": " + r.body());
    }
    return json(r).get("id").asText();
  }

  public HttpResponse<String> get(URI uri) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The sum of a part's Prometheus samples whose series starts with {@code series}, from its /metrics. */
  public double metric(String portName, String series) throws Exception {
    return metricAt(port(portName), series);
  }

  /** The same, for the part listening on {@code port} (a node started by a test). */
  public double metricAt(int port, String series) throws Exception {
    HttpResponse<String> r = get(URI.create("http://127.0.0.1:" + port + "/metrics"));
    if (r.statusCode() != 200) {
      throw new IOException("port " + port + " /metrics answered " + r.statusCode());
    }
    return r.body().lines()
        .filter(line -> line.startsWith(series + " ") || line.startsWith(series + "{"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }

  /** Waits until the node on {@code port} answers /readyz with 200. */
  public void awaitNodeReady(int port, Duration timeout) throws Exception {
    URI ready = URI.create("http://127.0.0.1:" + port + "/readyz");
    Await.until("the node on port " + port + " ready", timeout, () -> Unchecked.get(() -> answersOk(ready)));
  }

  /**
   * The incarnation the node on {@code port} serves as now, from its /readyz (ready or not): a node that
   * fenced itself comes back under a new one.
   */
  public String incarnation(int port) throws Exception {
    HttpResponse<String> r = get(URI.create("http://127.0.0.1:" + port + "/readyz"));
    return dev.pushrelay.json.JsonCodec.read(r.body()).path("nodeId").asText();
  }

  /** Whether {@code uri} answers 200 now; false while nothing listens there yet. */
  private boolean answersOk(URI uri) throws Exception {
    try {
      return get(uri).statusCode() == 200;
    } catch (IOException notYet) {
      return false;
    }
  }

  /** A part's /metrics, in Prometheus text; an answer other than 200 is an error. */
  public String metricsText(String portName) throws Exception {
    HttpResponse<String> r = get(URI.create("http://127.0.0.1:" + port(portName) + "/metrics"));
    if (r.statusCode() != 200) {
      throw new IOException(portName + " /metrics answered " + r.statusCode());
    }
    return r.body();
  }

  /** Waits until {@link #metric} rises above {@code floor}; {@code what} names the wait in the timeout. */
  public void awaitMetricAbove(String portName, String series, double floor, Duration timeout,
      Supplier<String> what) throws Exception {
    Await.until(series + " on " + portName + " above " + floor, timeout,
        () -> Unchecked.get(() -> metric(portName, series)) > floor, what);
  }

  public static JsonNode json(HttpResponse<String> r) throws IOException {
    return JsonCodec.read(r.body().getBytes(StandardCharsets.UTF_8));
  }

  /** Nothing the stack started still listens. */
  public boolean allPortsClosed() {
    for (int port : ports.values()) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return false;
      } catch (IOException closed) {
        // expected
      }
    }
    return true;
  }

  /** The process of socket node {@code n}, from the pid file the script writes. */
  public ProcessHandle nodeProcess(int n) throws IOException {
    return process("socket-node-" + n);
  }

  /**
   * A process the script started ({@code pubsub-emulator}, {@code firestore-emulator}, {@code send-function},
   * {@code route-function}, {@code socket-node-N}), from its pid file.
   */
  public ProcessHandle process(String name) throws IOException {
    long pid = Long.parseLong(Files.readString(logDir.resolve(name + ".pid")).trim());
    return ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException(name + " is not running"));
  }

  /**
   * Starts one more socket node beside the script's two, as Cloud Run scales out: same classpath and
   * environment as theirs, on a free port. The caller stops it by its process id.
   */
  public Process startNode(String nodeId, int port) throws IOException {
    return startNode(nodeId, port, "");
  }

  /** A node of its own, of the deployed {@code revision} (Cloud Run's {@code K_REVISION}; empty: none). */
  public Process startNode(String nodeId, int port, String revision) throws IOException {
    Path root = repoRoot();
    Path target = root.resolve("socket-node/target");
    String jar;
    try (var files = Files.list(target)) {
      jar = files.map(Path::toString).filter(f -> f.matches(".*/socket-node-[^/]*\\.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no socket-node jar in " + target));
    }
    ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
        jar + java.io.File.pathSeparator + target.resolve("lib") + "/*", "dev.pushrelay.node.SocketNodeMain")
        .redirectErrorStream(true)
        .redirectOutput(logDir.resolve("socket-node-" + nodeId + ".log").toFile());
    Map<String, String> env = pb.environment();
    env.putAll(deployablesEnv);
    env.put("GOOGLE_CLOUD_PROJECT", "relay-local");
    env.put("PUBSUB_EMULATOR_HOST", "127.0.0.1:" + port("PUBSUB_PORT"));
    env.put("FIRESTORE_EMULATOR_HOST", "127.0.0.1:" + port("FIRESTORE_PORT"));
    env.put("PORT", Integer.toString(port));
    env.put("RELAY_NODE_ID", nodeId);
    if (!revision.isEmpty()) {
      env.put("K_REVISION", revision);
    }
    env.put("RELAY_LOCAL_MODE", "true");
    env.put("RELAY_SEND_URL", "http://127.0.0.1:" + port("SEND_PORT"));
    env.putIfAbsent("RELAY_JWT_SECRET", DEV_SECRET);
    return pb.start();
  }

  /** The secret {@code scripts/run-local.sh} signs dev tokens with unless told otherwise. */
  static final String DEV_SECRET = "local-dev-secret-change-me-0123456789abcdef";

  /** Sends a signal ({@code STOP}, {@code CONT}, {@code KILL}, {@code TERM}) to one process, by its id. */
  public static void signal(ProcessHandle process, String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " failed");
    }
  }

  public Path logDir() {
    return logDir;
  }

  /** A look inside through the emulators; closed with the stack. */
  public synchronized StackProbe probe() {
    if (probe == null) {
      probe = new StackProbe(this);
    }
    return probe;
  }

  /** Times a recorded send is made before it counts as refused: the first and two more after a 503. */
  static final int SEND_ATTEMPTS = 3;

  private final java.util.concurrent.atomic.AtomicInteger unavailable = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * Sends one message to the user as the README tells a sender to: with its own id, and on a 503 the
   * same request again after its {@code Retry-After}, up to {@link #SEND_ATTEMPTS} times; records it in
   * the ledger once accepted. False when it never was. A 503 after the send function's publish timed
   * out may still be delivered (Pub/Sub can take it late); the retry then makes a repeat, which the node
   * does not write twice to one socket.
   */
  public boolean sendRecorded(String user, String event, Ledger ledger) {
    java.time.Instant started = java.time.Instant.now();
    String id = java.util.UUID.randomUUID().toString();
    String body = "{\"id\":\"" + id + "\",\"userId\":\"" + user + "\",\"event\":\"" + event + "\",\"data\":{}}";
    try {
      for (int attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
        HttpResponse<String> r = send("application/json", body);
        if (r.statusCode() == 202) {
          ledger.accepted(user, json(r).get("id").asText(), started);
          return true;
        }
        if (r.statusCode() != 503 || attempt == SEND_ATTEMPTS) {
          return false;
        }
        unavailable.incrementAndGet();
        long retryAfter = r.headers().firstValueAsLong("Retry-After").orElse(1);
        TimeUnit.SECONDS.sleep(retryAfter); // the wait the answer asked for, not a wait for a result
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  /**
   * The README's rollback on this stack: {@code scripts/rollback.sh --retire revision} with the emulator
   * variables {@code scripts/run-local.sh} prints; returns what it printed, and fails if it failed.
   */
  public String retireRevision(String revision) throws Exception {
    Path root = repoRoot();
    ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("scripts/rollback.sh").toString(), "--retire", revision)
        .redirectErrorStream(true);
    pb.environment().put("GOOGLE_CLOUD_PROJECT", "relay-local");
    pb.environment().put("FIRESTORE_EMULATOR_HOST", "127.0.0.1:" + port("FIRESTORE_PORT"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("rollback.sh --retire " + revision + " failed: " + out);
    }
    return out;
  }

  /** How many recorded sends were answered 503 and sent again. */
  public int sendsRetried() {
    return unavailable.get();
  }

  /** SIGTERM to the script; it stops exactly what it started. */
  @Override
  public void close() throws Exception {
    synchronized (this) {
      if (probe != null) {
        probe.close();
      }
    }
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    // the deployables flushed their last export as they stopped
    try {
      cloudTelemetry.appendSeriesTo(cloudSeries());
    } finally {
      cloudTelemetry.close();
    }
  }
}
