package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Phase 7: Firestore reads and writes and Pub/Sub publishes per delivered message, counted by the relay
 * itself, for a connected user and for a pending one, over repeated runs. Settings: COST_REPEATS (3),
 * COST_MESSAGES (100), COST_PENDING_MESSAGES (50), COST_RATE (20), COST_SETTLE_SECONDS (10),
 * COST_BACKGROUND_SECONDS (10).
 */
final class CostPhase {
  private final StackClient stack;
  private final BenchContext ctx;

  CostPhase(StackClient stack) {
    this.stack = stack;
    this.ctx = stack.context();
  }

  /** One run of one kind of user: what moved, over how long, for how many delivered messages. */
  private record Window(CostCounters moved, double seconds, int delivered, int expected, int frames) {}

  String run() throws Exception {
    int repeats = BenchContext.envInt("COST_REPEATS", 3);
    int n = BenchContext.envInt("COST_MESSAGES", 100);
    int np = BenchContext.envInt("COST_PENDING_MESSAGES", 50);
    int rate = BenchContext.envInt("COST_RATE", 20);
    int settle = BenchContext.envInt("COST_SETTLE_SECONDS", 10);
    int bgSeconds = BenchContext.envInt("COST_BACKGROUND_SECONDS", 10);

    // The idle background (node heartbeats and leases), on the quiet stack before any load.
    CostCounters bg0 = CostCounters.scrape(stack);
    long t0 = System.nanoTime();
    Thread.sleep(bgSeconds * 1000L);
    CostCounters background = CostCounters.scrape(stack).since(bg0);
    double bgWindow = (System.nanoTime() - t0) / 1e9;

    List<Window> connected = new ArrayList<>();
    List<Window> pending = new ArrayList<>();
    for (int rep = 0; rep < repeats; rep++) {
      connected.add(connected("bench-cost-c-" + ctx.runId() + "-" + rep, n, rate));
      pending.add(pending("bench-cost-p-" + ctx.runId() + "-" + rep, np, rate, settle));
      System.err.printf("cost run %d: connected %d delivered, pending %d delivered%n", rep,
          connected.get(rep).delivered(), pending.get(rep).delivered());
    }

    StringBuilder md = new StringBuilder("### Phase 7 — cost per delivered message\n\n");
    md.append(String.format(java.util.Locale.ROOT, "Counted by the relay itself: the sum of "
            + "`relay_firestore_reads_total`, `relay_firestore_writes_total` and `relay_pubsub_publishes_total` over "
            + "send, route, node 1 and node 2, scraped before and after each window. The idle background (node "
            + "heartbeats and leases) was measured over %.1f s on the quiet stack before any load and is subtracted "
            + "in proportion to each window's length (\"net\"; \"raw\" is without that). Connected: %d messages at "
            + "%d/s to a user with one socket on node 1. Pending: %d messages at %d/s to a user with no socket, wait "
            + "until all are parked, connect, receive, keep the socket %d s so the router's nacked copies come back "
            + "and settle; copies retried later than that are not counted. %d runs of each, a new user each run; "
            + "median (min–max) over the runs. Runs first, on a quiet stack, so no retries left by other phases "
            + "are counted.%n%n",
        bgWindow, n, rate, np, rate, settle, repeats));
    md.append("| user | delivered per run | Firestore reads / msg, net | Firestore writes / msg, net "
        + "| Pub/Sub publishes / msg, net | reads / writes / publishes per msg, raw "
        + "| reads by part (send/route/node1/node2), last run | writes by part, last run |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    md.append(row("connected", connected, background, bgWindow));
    md.append(row("pending", pending, background, bgWindow));
    md.append(String.format("%nBackground over %.1f s: %s reads, %s writes, %s publishes. Pending sockets received "
            + "%s frames for %s distinct messages (per run).%n%n", bgWindow, Stats.fmt(background.total(0), 0),
        Stats.fmt(background.total(1), 0), Stats.fmt(background.total(2), 0),
        pending.stream().map(Window::frames).toList(), pending.stream().map(Window::delivered).toList()));
    md.append("Goal: at most one Firestore read per routed message, no Firestore write for a connected user.\n\n");
    return md.toString();
  }

  private Window connected(String user, int n, int rate) throws Exception {
    AtomicInteger received = new AtomicInteger();
    try (BenchSocket socket = stack.socket(ctx.node1Url(), user, (f, t) -> received.incrementAndGet())) {
      socket.awaitEstablished();
      Thread.sleep(1000);
      long t0 = System.nanoTime();
      CostCounters before = CostCounters.scrape(stack);
      OpenLoop.run(rate, n, (i, due) -> stack.send(user, "cost-c-" + user + "-" + i));
      OpenLoop.await(() -> received.get() >= n, 20_000);
      Thread.sleep(2000);
      CostCounters moved = CostCounters.scrape(stack).since(before);
      return new Window(moved, (System.nanoTime() - t0) / 1e9, received.get(), n, received.get());
    }
  }

  private Window pending(String user, int np, int rate, int settle) throws Exception {
    long t0 = System.nanoTime();
    CostCounters before = CostCounters.scrape(stack);
    double parked0 = stack.parkedTotal();
    OpenLoop.run(rate, np, (i, due) -> stack.send(user, "cost-p-" + user + "-" + i));
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (stack.parkedTotal() - parked0 < np && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    Map<String, Boolean> seen = new ConcurrentHashMap<>();
    AtomicInteger frames = new AtomicInteger();
    try (BenchSocket socket = stack.socket(ctx.node1Url(), user, (f, t) -> {
      frames.incrementAndGet();
      seen.put(f.path("id").asText(), true);
    })) {
      socket.awaitEstablished();
      OpenLoop.await(() -> seen.size() >= np, 20_000);
      // the router's nacked copies come back (min backoff 2 s) and are settled while the user is online
      Thread.sleep(settle * 1000L);
      CostCounters moved = CostCounters.scrape(stack).since(before);
      return new Window(moved, (System.nanoTime() - t0) / 1e9, seen.size(), np, frames.get());
    }
  }

  private static String row(String label, List<Window> runs, CostCounters background, double bgWindow) {
    String[] net = new String[3];
    StringBuilder raw = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      List<Double> perMessage = new ArrayList<>();
      List<Double> rawPerMessage = new ArrayList<>();
      for (Window w : runs) {
        if (w.delivered() == 0) {
          continue;
        }
        double bg = background.total(i) * w.seconds() / bgWindow;
        perMessage.add(Math.max(0, w.moved().total(i) - bg) / w.delivered());
        rawPerMessage.add(w.moved().total(i) / w.delivered());
      }
      net[i] = Stats.medianSpread(perMessage, 2);
      raw.append(i > 0 ? " / " : "").append(Stats.fmt(Stats.median(rawPerMessage), 2));
    }
    Window last = runs.get(runs.size() - 1);
    return String.format("| %s | %s of %d | %s | %s | %s | %s | %s | %s |%n", label,
        runs.stream().map(Window::delivered).toList(), last.expected(), net[0], net[1], net[2], raw,
        last.moved().byPart(0), last.moved().byPart(1));
  }
}
