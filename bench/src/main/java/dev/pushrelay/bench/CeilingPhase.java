package dev.pushrelay.bench;

import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * Phase 1: what WebSocket itself costs on this machine. A minimal Jetty echo and a minimal {@code ws}
 * echo, each its own process pinned to the server CPUs; a fixed number of client sockets in this JVM
 * (pinned to the client CPUs), each with one 32-byte text frame in flight at a time: round trips per
 * second. Writes ceiling.md and ceiling.json (read by the fan-out phase).
 */
final class CeilingPhase {
  static final String PAYLOAD = "0123456789abcdef0123456789abcdef";

  private final SocketBenchSettings s;
  private final int clients = SocketBenchSettings.envInt("CEILING_CLIENTS", 64);
  private final int warmSeconds = SocketBenchSettings.envInt("CEILING_WARM_SECONDS", 3);
  private final int seconds = SocketBenchSettings.envInt("CEILING_SECONDS", 5);
  private final int runs = SocketBenchSettings.envInt("CEILING_RUNS", 3);

  CeilingPhase(SocketBenchSettings s) {
    this.s = s;
  }

  /** One echo server under test. */
  private record Echo(String key, String label) {}

  String run() throws Exception {
    List<Echo> echoes = List.of(new Echo("jetty", "Jetty 12 echo (" + s.nodeJavaVersion() + ")"),
        new Echo("ws", "`ws` echo (Node " + s.nodeVersion() + ")"));
    Map<String, List<Double>> rate = new LinkedHashMap<>();
    Map<String, List<Double>> cpu = new LinkedHashMap<>();
    for (int r = 0; r < runs; r++) {
      List<Echo> order = new ArrayList<>(echoes);
      java.util.Collections.rotate(order, -r);
      for (Echo e : order) {
        double[] result = measure(e, r);
        rate.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(result[0]);
        cpu.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(result[1]);
        System.err.printf("ceiling run %d %s: %.0f round trips/s, server %.2f cores%n", r, e.key(), result[0],
            result[1]);
      }
    }
    StringBuilder json = new StringBuilder("{");
    for (Echo e : echoes) {
      json.append(json.length() > 1 ? "," : "").append('"').append(e.key()).append("\":{\"roundTripsPerSecond\":")
          .append(Math.round(Stats.median(rate.get(e.key())))).append('}');
    }
    Files.writeString(s.out().resolve("ceiling.json"), json.append("}\n"));

    double jetty = Stats.median(rate.get("jetty"));
    StringBuilder md = new StringBuilder("### Phase 1 — ceiling: WebSocket echo on loopback\n\n");
    md.append(String.format("Round trips per second of 32-byte text frames: %d client sockets in the benchmark JVM "
        + "(Jetty 12 WebSocket client), each with one frame in flight (send, wait for the echo, send again); %d s "
        + "warm-up, then %d s counted; %d runs, the order of the servers rotated each run, a fresh server process "
        + "each time (the Jetty echo on the java our node runs on in phases 2 and 3, default flags). The echo "
        + "server is pinned to CPU %s and the client JVM to CPU %s (taskset). \"server cores\" is the server "
        + "process's user+system CPU time over the counted window divided by its length. Every throughput in the "
        + "phases below is also given as a share of the Jetty figure here.%n%n",
        clients, warmSeconds, seconds, runs, s.serverCpus(), s.clientCpus()));
    md.append("| echo server | round trips/s, median (min–max) | server cores | ÷ Jetty |\n");
    md.append("| --- | --- | --- | --- |\n");
    for (Echo e : echoes) {
      md.append(String.format("| %s | %s | %s | %s |%n", e.label(), Stats.medianSpread(rate.get(e.key()), 0),
          Stats.medianSpread(cpu.get(e.key()), 2), Stats.fmt(Stats.median(rate.get(e.key())) / jetty, 2)));
    }
    md.append('\n');
    return md.toString();
  }

  /** {round trips per second, server cores used}. */
  private double[] measure(Echo e, int run) throws Exception {
    int port = s.basePort() + 2;
    List<String> command = e.key().equals("jetty")
        ? List.of(s.nodeJava(), "-cp", s.benchCp(), EchoServer.class.getName(), Integer.toString(port))
        : List.of(s.nodeBin(), s.peersDir().resolve("ws-echo.mjs").toString(), Integer.toString(port));
    URI uri = URI.create("ws://127.0.0.1:" + port + (e.key().equals("jetty") ? "/echo" : "/"));
    LongAdder trips = new LongAdder();
    try (ServerProcess server = ServerProcess.start("echo-" + e.key(), s.serverCpus(), command, Map.of(),
        s.out().resolve("socket-logs").resolve("ceiling-" + e.key() + "-" + run + ".log"), Duration.ofSeconds(10))) {
      server.awaitPort(port, Duration.ofSeconds(30));
      WebSocketClient client = new WebSocketClient();
      client.start();
      try {
        List<EchoLoop> loops = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          EchoLoop loop = new EchoLoop(trips);
          client.connect(loop, uri).get(10, TimeUnit.SECONDS);
          loops.add(loop);
        }
        loops.forEach(EchoLoop::go);
        Thread.sleep(TimeUnit.SECONDS.toMillis(warmSeconds));
        double cpu0 = server.cpuSeconds();
        long n0 = trips.sum();
        long t0 = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        long n1 = trips.sum();
        long t1 = System.nanoTime();
        double cpu1 = server.cpuSeconds();
        loops.forEach(EchoLoop::stop);
        for (EchoLoop loop : loops) {
          if (loop.failure.isDone()) {
            throw new IllegalStateException("echo socket to " + e.key() + " failed: " + loop.failure.join());
          }
        }
        double window = (t1 - t0) / 1e9;
        return new double[] {(n1 - n0) / window, (cpu1 - cpu0) / window};
      } finally {
        client.stop();
      }
    }
  }

  /** One client socket in a closed loop: every echo counts one round trip and sends the next frame. */
  public static final class EchoLoop implements Session.Listener.AutoDemanding {
    private final LongAdder trips;
    final CompletableFuture<String> failure = new CompletableFuture<>();
    private volatile Session session;
    private volatile boolean running = true;

    EchoLoop(LongAdder trips) {
      this.trips = trips;
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    void go() {
      session.sendText(PAYLOAD, Callback.NOOP);
    }

    void stop() {
      running = false;
    }

    @Override
    public void onWebSocketText(String text) {
      trips.increment();
      if (running) {
        session.sendText(PAYLOAD, Callback.NOOP);
      }
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      if (running) {
        failure.complete("closed with " + statusCode + " " + reason);
      }
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      failure.complete(cause.toString());
    }
  }
}
