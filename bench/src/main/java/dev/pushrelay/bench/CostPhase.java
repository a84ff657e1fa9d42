package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Phase 7: Firestore reads and writes, Pub/Sub publishes and Pub/Sub deliveries (by subscription) per
 * delivered message, counted by the relay itself, for a connected user, a pending one and a fan-out,
 * over repeated runs. Writes cost.json (the net medians per message), from which {@code scripts/cost.sh}
 * computes docs/COST.md. Settings: COST_REPEATS (3), COST_MESSAGES (100), COST_PENDING_MESSAGES (50),
 * COST_RATE (20), COST_SETTLE_SECONDS (10), COST_BACKGROUND_SECONDS (10), COST_FANOUT_USERS (100),
 * COST_FANOUT_REQUESTS (5).
 */
final class CostPhase {
  private final StackClient stack;
  private final BenchContext ctx;

  CostPhase(StackClient stack) {
    this.stack = stack;
    this.ctx = stack.context();
  }

  /** One run of one kind of user: what moved, over how long, for how many delivered messages. */
  private record Window(CostCounters moved, double seconds, int delivered, int expected, int frames,
      int sendRequests) {}

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

    int fanoutUsers = BenchContext.envInt("COST_FANOUT_USERS", 100);
    int fanoutRequests = BenchContext.envInt("COST_FANOUT_REQUESTS", 5);
    List<Window> connected = new ArrayList<>();
    List<Window> pending = new ArrayList<>();
    List<Window> fanout = new ArrayList<>();
    for (int rep = 0; rep < repeats; rep++) {
      connected.add(connected("bench-cost-c-" + ctx.runId() + "-" + rep, n, rate));
      pending.add(pending("bench-cost-p-" + ctx.runId() + "-" + rep, np, rate, settle));
      fanout.add(fanout("bench-cost-f-" + ctx.runId() + "-" + rep, fanoutUsers, fanoutRequests));
      System.err.printf("cost run %d: connected %d delivered, pending %d delivered, fan-out %d delivered%n", rep,
          connected.get(rep).delivered(), pending.get(rep).delivered(), fanout.get(rep).delivered());
    }
    writeJson(background, bgWindow, Map.of("connected", connected, "pending", pending, "fanout", fanout));

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
        + "| Pub/Sub publishes / msg, net | Pub/Sub deliveries / msg, net "
        + "| reads / writes / publishes / deliveries per msg, raw "
        + "| reads by part (send/route/node1/node2), last run | writes by part, last run "
        + "| deliveries by subscription (-/router/node1/node2), last run |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    md.append(row("connected", connected, background, bgWindow));
    md.append(row("pending", pending, background, bgWindow));
    md.append(row("fan-out, " + fanoutUsers + " users (per recipient)", fanout, background, bgWindow));
    md.append(String.format("%nFan-out: %d users, half with a socket on node 1 and half on node 2, %d requests to "
        + "all of them per run.", fanoutUsers, fanoutRequests));
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
      return new Window(moved, (System.nanoTime() - t0) / 1e9, received.get(), n, received.get(), n);
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
      return new Window(moved, (System.nanoTime() - t0) / 1e9, seen.size(), np, frames.get(), np);
    }
  }

  /**
   * {@code users} users, half on node 1 and half on node 2, each with a socket; {@code requests}
   * fan-out requests to all of them. Counted per recipient message.
   */
  private Window fanout(String prefix, int users, int requests) throws Exception {
    AtomicInteger received = new AtomicInteger();
    List<BenchSocket> sockets = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    try {
      for (int u = 0; u < users; u++) {
        String user = prefix + "-" + u;
        ids.add(user);
        BenchSocket s = stack.socket(u % 2 == 0 ? ctx.node1Url() : ctx.node2Url(), user,
            (f, t) -> received.incrementAndGet());
        sockets.add(s);
      }
      for (BenchSocket s : sockets) {
        s.awaitEstablished();
      }
      Thread.sleep(1500); // past every socket's settling second
      long t0 = System.nanoTime();
      CostCounters before = CostCounters.scrape(stack);
      for (int r = 0; r < requests; r++) {
        stack.sendFanOut(ids, prefix + "-m" + r);
      }
      OpenLoop.await(() -> received.get() >= users * requests, 30_000);
      Thread.sleep(2000);
      CostCounters moved = CostCounters.scrape(stack).since(before);
      return new Window(moved, (System.nanoTime() - t0) / 1e9, received.get(), users * requests, received.get(),
          requests);
    } finally {
      for (BenchSocket s : sockets) {
        s.close();
      }
    }
  }

  /**
   * The net medians per delivered message, for {@code scripts/cost.sh}: Firestore reads and writes,
   * publishes, deliveries on the retry subscription and on the node subscriptions, and function requests
   * (send requests plus the route function's pushes).
   */
  private void writeJson(CostCounters background, double bgWindow, Map<String, List<Window>> kinds)
      throws java.io.IOException {
    com.fasterxml.jackson.databind.node.ObjectNode root = dev.pushrelay.json.JsonCodec.object();
    root.put("measuredAt", java.time.Instant.now().toString());
    for (Map.Entry<String, List<Window>> kind : kinds.entrySet()) {
      com.fasterxml.jackson.databind.node.ObjectNode k = root.putObject(kind.getKey());
      k.put("firestoreReads", median(kind.getValue(), w -> net(w, background, bgWindow, 0, w.moved().total(0))));
      k.put("firestoreWrites", median(kind.getValue(), w -> net(w, background, bgWindow, 1, w.moved().total(1))));
      k.put("pubsubPublishes", median(kind.getValue(), w -> net(w, background, bgWindow, 2, w.moved().total(2))));
      k.put("pubsubDeliveriesRouter", median(kind.getValue(), w -> w.moved().part(3, "route")));
      k.put("pubsubDeliveriesNodes", median(kind.getValue(),
          w -> w.moved().part(3, "node1") + w.moved().part(3, "node2")));
      k.put("functionRequests", median(kind.getValue(), w -> w.sendRequests() + w.moved().part(3, "route")));
      com.fasterxml.jackson.databind.node.ObjectNode parts = k.putObject("byPart");
      for (String part : List.of("send", "route", "node1", "node2")) {
        com.fasterxml.jackson.databind.node.ObjectNode ops = parts.putObject(part);
        ops.put("firestoreReads", median(kind.getValue(), w -> w.moved().part(0, part)));
        ops.put("firestoreWrites", median(kind.getValue(), w -> w.moved().part(1, part)));
      }
    }
    java.nio.file.Files.writeString(ctx.out().resolve("cost.json"), dev.pushrelay.json.JsonCodec.write(root) + "\n");
  }

  /** A window's count less the idle background in proportion to its length (metric {@code i}). */
  private static double net(Window w, CostCounters background, double bgWindow, int i, double moved) {
    return Math.max(0, moved - background.total(i) * w.seconds() / bgWindow);
  }

  /** The median over the runs of {@code count} per delivered message. */
  private static double median(List<Window> runs, java.util.function.ToDoubleFunction<Window> count) {
    List<Double> perMessage = new ArrayList<>();
    for (Window w : runs) {
      if (w.delivered() > 0) {
        perMessage.add(count.applyAsDouble(w) / w.delivered());
      }
    }
    return perMessage.isEmpty() ? 0 : Stats.median(perMessage);
  }

  private static String row(String label, List<Window> runs, CostCounters background, double bgWindow) {
    String[] net = new String[CostCounters.METRICS.length];
    StringBuilder raw = new StringBuilder();
    for (int i = 0; i < net.length; i++) {
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
    return String.format("| %s | %s of %d | %s | %s | %s | %s | %s | %s | %s | %s |%n", label,
        runs.stream().map(Window::delivered).toList(), last.expected(), net[0], net[1], net[2], net[3], raw,
        last.moved().byPart(0), last.moved().byPart(1), last.moved().byPart(3));
  }
}
