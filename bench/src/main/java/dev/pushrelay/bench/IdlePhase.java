package dev.pushrelay.bench;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Phase 2: what an idle authenticated socket costs. Each contender in turn, a fresh process each run:
 * connect distinct users up to each level (bounded concurrency), then heap after a full GC and RSS;
 * the per-socket cost is the slope of a least-squares line over the levels, not total ÷ N, so the
 * process's fixed cost drops out.
 */
final class IdlePhase {
  static final String HISTOGRAM = "idle-relay-histogram.txt";
  private final SocketBenchSettings s;
  private final int[] levels = SocketBenchSettings.envInts("IDLE_LEVELS", "1000,5000,10000");
  private final int runs = SocketBenchSettings.envInt("IDLE_RUNS", 3);
  private final int concurrency = SocketBenchSettings.envInt("IDLE_CONNECT_CONCURRENCY", 32);
  private final List<Contender> contenders = Contender.parse(SocketBenchSettings.env("IDLE_SERVERS",
      "relay,relay-browser,ws,socketio"));
  private final TokenMint tokens;
  private String relayHeapSpaces = "";
  /**
   * How long after its level's last connect the heap is read: our node's youngest socket has then begun
   * its late mailbox look (5 s after open), and the catch-ups and second looks are over, so the figure is
   * of idle sockets, not of the connect path's work (a read at once caught a thousand gRPC calls in flight).
   */
  static final Duration IDLE_AFTER = Duration.ofSeconds(7);

  IdlePhase(SocketBenchSettings s) {
    this.s = s;
    this.tokens = new TokenMint(s.jwtSecret(), Duration.ofHours(2));
  }

  /**
   * One run of one contender: heap and RSS at each level, how fast the sockets connected, and how many
   * of them the server agreed to compress.
   */
  private record Run(double[] heap, double[] rss, double connectsPerSecond, long compressed) {
    double heapSlope(int[] levels) {
      return LinearFit.of(Arrays.stream(levels).asDoubleStream().toArray(), heap).slope();
    }

    double rssSlope(int[] levels) {
      return LinearFit.of(Arrays.stream(levels).asDoubleStream().toArray(), rss).slope();
    }
  }

  String run() throws Exception {
    Map<Contender, List<Run>> results = new EnumMap<>(Contender.class);
    for (int r = 0; r < runs; r++) {
      for (Contender c : Contender.rotated(contenders, r)) {
        Run run = measure(c, r);
        results.computeIfAbsent(c, k -> new ArrayList<>()).add(run);
        System.err.printf("idle run %d %s: heap/socket %.0f B, RSS/socket %.0f B, %.0f connects/s, heap %s MB, "
                + "RSS %s MB, %d sockets compressed%n", r, c.key(), run.heapSlope(levels), run.rssSlope(levels),
            run.connectsPerSecond(), mb(run.heap()), mb(run.rss()), run.compressed());
      }
    }
    return report(results);
  }

  private Run measure(Contender c, int run) throws Exception {
    int max = Arrays.stream(levels).max().orElseThrow();
    double[] heap = new double[levels.length];
    double[] rss = new double[levels.length];
    List<ClientSocket> sockets = new ArrayList<>();
    long connectNanos = 0;
    try (PushClient client = new PushClient(tokens);
        PushServer server = PushServer.start(c, s, max, "idle")) {
      try {
        for (int i = 0; i < levels.length; i++) {
          List<String> users = new ArrayList<>();
          for (int u = sockets.size(); u < levels[i]; u++) {
            users.add("idle-" + s.runId() + "-" + run + "-" + u);
          }
          long t0 = System.nanoTime();
          sockets.addAll(client.connect(server, users, concurrency, (id, t) -> { }, Duration.ofMinutes(10)));
          connectNanos += System.nanoTime() - t0;
          long open = sockets.stream().filter(ClientSocket::open).count();
          if (open != levels[i]) {
            throw new IllegalStateException(c.key() + ": " + open + " of " + levels[i] + " sockets open");
          }
          Thread.sleep(IDLE_AFTER.toMillis()); // the sockets' own protocol time, not a wait for a result
          heap[i] = server.heapAfterGcBytes();
          rss[i] = server.rssBytes();
          if (c == Contender.RELAY) {
            relayHeapSpaces = server.heapSpaces();
            if (run == 0 && i == levels.length - 1) {
              // where our node's per-socket heap goes, for whoever works on it next
              Files.writeString(s.out().resolve(HISTOGRAM), server.classHistogram(120));
            }
          }
          System.err.printf("idle %s %d sockets: heap %.1f MB, RSS %.1f MB%n", c.key(), levels[i], heap[i] / 1e6,
              rss[i] / 1e6);
        }
      } finally {
        // the server first: our node's graceful stop closes every socket (1012) and unregisters it
        server.close();
        PushClient.closeAll(sockets, Duration.ofSeconds(10));
      }
    }
    long compressed = sockets.stream().filter(k -> k.negotiatedExtensions.contains("permessage-deflate")).count();
    return new Run(heap, rss, max / (connectNanos / 1e9), compressed);
  }

  private String report(Map<Contender, List<Run>> results) {
    StringBuilder md = new StringBuilder("### Phase 2 — idle sockets: memory per socket\n\n");
    md.append(String.format("Each server in turn (the order rotated each run), a fresh process with a fresh node id "
        + "each run, against the running emulators: %s authenticated sockets of distinct users (HS256 tokens), "
        + "opened from one client JVM with at most %d handshakes in flight (each waits for "
        + "`connection_established`; on our node that includes the Firestore registration). At each level, %d s after "
        + "its last connect (every socket of our node into its late mailbox look, its catch-up over): heap in "
        + "use right after a full GC (our node: `jcmd GC.run`, then the used figure of `jcmd GC.heap_info`; peers: "
        + "`global.gc()` twice under `--expose-gc`, then V8's `heapUsed`, which leaves out Buffers held outside the "
        + "V8 heap) and RSS (`VmRSS` of /proc/PID/status, right after that GC). Per socket = the slope of a "
        + "least-squares line over the %d levels, in KB (1024 B), not total ÷ N. Each server is pinned to CPU %s "
        + "(taskset), the client JVM to CPU %s. Our node on %s, JVM flags %s; pinned to one CPU, the JVM sizes "
        + "itself as on a 1-vCPU instance (heap spaces in GC.heap_info: %s); `RELAY_MAX_CONNECTIONS` raised to the "
        + "top level + 100, everything else as deployed. Peers on Node %s with default flags. %d runs; median "
        + "(min–max) over the runs.%n%n",
        Arrays.toString(levels), concurrency, IDLE_AFTER.toSeconds(), levels.length, s.serverCpus(), s.clientCpus(),
        s.nodeJavaVersion(),
        s.nodeJvmFlags(),
        relayHeapSpaces.isEmpty() ? "not read" : relayHeapSpaces, s.nodeVersion(), runs));
    List<Run> ours = results.get(Contender.RELAY);
    md.append("| server | heap per socket, KB | RSS per socket, KB | our heap ÷ this | our RSS ÷ this |"
        + " connects/s | sockets compressed (of the top level) |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (var e : results.entrySet()) {
      List<Double> heap = e.getValue().stream().map(r -> r.heapSlope(levels) / 1024).toList();
      List<Double> rss = e.getValue().stream().map(r -> r.rssSlope(levels) / 1024).toList();
      List<Double> connects = e.getValue().stream().map(Run::connectsPerSecond).toList();
      String heapRatio = "";
      String rssRatio = "";
      if (ours != null && !e.getKey().relay()) {
        heapRatio = Stats.fmt(medianSlope(ours, true) / 1024 / Stats.median(heap), 2);
        rssRatio = Stats.fmt(medianSlope(ours, false) / 1024 / Stats.median(rss), 2);
      }
      long compressed = e.getValue().stream().mapToLong(Run::compressed).max().orElse(0);
      md.append(String.format("| %s | %s | %s | %s | %s | %s | %d |%n", e.getKey().label(),
          Stats.medianSpread(heap, 1), Stats.medianSpread(rss, 1), heapRatio, rssRatio,
          Stats.medianSpread(connects, 0), compressed));
    }
    md.append("\nTotals at each level (MB = 10⁶ B), median over the runs:\n\n");
    StringBuilder head = new StringBuilder("| server |");
    StringBuilder rule = new StringBuilder("| --- |");
    for (int level : levels) {
      head.append(" heap at ").append(level).append(" |");
      rule.append(" --- |");
    }
    for (int level : levels) {
      head.append(" RSS at ").append(level).append(" |");
      rule.append(" --- |");
    }
    md.append(head).append('\n').append(rule).append('\n');
    for (var e : results.entrySet()) {
      md.append("| ").append(e.getKey().label()).append(" |");
      for (int i = 0; i < levels.length; i++) {
        int at = i;
        md.append(' ').append(Stats.fmt(Stats.median(e.getValue().stream().map(r -> r.heap()[at] / 1e6).toList()), 1))
            .append(" |");
      }
      for (int i = 0; i < levels.length; i++) {
        int at = i;
        md.append(' ').append(Stats.fmt(Stats.median(e.getValue().stream().map(r -> r.rss()[at] / 1e6).toList()), 1))
            .append(" |");
      }
      md.append('\n');
    }
    md.append('\n');
    if (ours != null) {
      double heapKb = medianSlope(ours, true) / 1024;
      md.append(String.format("- Goal: at most 8 KB of heap per socket — **%s** (%s KB). Where it goes: the live "
              + "objects of our node at %d sockets by class (`jcmd GC.class_histogram`, first run) are in "
              + "`bench/target/results/%s`.%n",
          heapKb <= 8 ? "met" : "missed", Stats.fmt(heapKb, 1), levels[levels.length - 1], HISTOGRAM));
      List<Run> browser = results.get(Contender.RELAY_BROWSER);
      if (browser != null) {
        double rssKb = medianSlope(browser, false) / 1024;
        long compressed = browser.stream().mapToLong(Run::compressed).max().orElse(0);
        md.append(String.format("- Goal: a browser-like client's socket (it offers `permessage-deflate`) costs at "
                + "most 30 KB of RSS — **%s** (%s KB); the node agreed to compress %d of its %d sockets (it declines "
                + "every extension: see the compression decision below).%n",
            rssKb <= 30 && compressed == 0 ? "met" : "missed", Stats.fmt(rssKb, 1), compressed,
            levels[levels.length - 1]));
      }
      List<Run> ws = results.get(Contender.WS);
      if (ws != null) {
        double ourRss = medianSlope(ours, false);
        double wsRss = medianSlope(ws, false);
        double ourHeap = medianSlope(ours, true);
        double wsHeap = medianSlope(ws, true);
        md.append(String.format("- Goal: less memory per socket than the `ws` peer, counted as RSS (all the memory "
                + "the process holds) — **%s** (%s KB against %s KB); heap alone: %s KB against %s KB.%n",
            ourRss < wsRss ? "met" : "missed", Stats.fmt(ourRss / 1024, 1), Stats.fmt(wsRss / 1024, 1),
            Stats.fmt(ourHeap / 1024, 1), Stats.fmt(wsHeap / 1024, 1)));
      }
      md.append('\n');
    }
    return md.toString();
  }

  private double medianSlope(List<Run> runs, boolean heap) {
    return Stats.median(runs.stream().map(r -> heap ? r.heapSlope(levels) : r.rssSlope(levels)).toList());
  }

  private static String mb(double[] bytes) {
    return Arrays.toString(Arrays.stream(bytes).map(b -> Math.round(b / 1e5) / 10.0).toArray());
  }
}
