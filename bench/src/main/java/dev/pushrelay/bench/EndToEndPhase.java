package dev.pushrelay.bench;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * Phase 4: send function to socket frame, open loop at fixed shares of the fan-out maximum, with the
 * emulator's publish-to-receive floor measured at the same time on a scratch topic.
 *
 * <p>Settings: E2E_FRACTIONS (0.05,0.1,0.5 of relay.maxRatePerSecond in fanout.json), E2E_RATES (50,200; used
 * when fanout.json has no maximum), E2E_MAX_RATE (500: no rate above it is offered), E2E_SECONDS (15), E2E_REPEATS (3),
 * E2E_WARMUP_SECONDS (20), E2E_FLOOR_RATE (10).
 */
final class EndToEndPhase {
  private static final long DELIVERY_WAIT_MS = 15_000;

  private final StackClient stack;
  private final BenchContext ctx;

  EndToEndPhase(StackClient stack) {
    this.stack = stack;
    this.ctx = stack.context();
  }

  /** How a message enters the relay: the send function's direct route, or through the route function. */
  enum Path {
    DIRECT("relay, direct route"), ROUTE_FUNCTION("relay, via route function");

    final String label;

    Path(String label) {
      this.label = label;
    }
  }

  /** One rate's figures over the repeats. */
  private record RateResult(List<double[]> relay, List<double[]> floor, List<double[]> accepted, List<Double> ratio,
      List<Integer> lost, List<Integer> errors, Histogram pooled, List<String> closes) {}

  private BenchSocket socket;

  String run() throws Exception {
    int seconds = BenchContext.envInt("E2E_SECONDS", 15);
    int repeats = BenchContext.envInt("E2E_REPEATS", 3);
    int warmup = BenchContext.envInt("E2E_WARMUP_SECONDS", 20);
    double floorRate = BenchContext.envDouble("E2E_FLOOR_RATE", 10);
    StringBuilder why = new StringBuilder();
    Optional<Double> max = FanoutMaximum.read(ctx.out().resolve("fanout.json"), why);
    double[] fractions = doubles(BenchContext.env("E2E_FRACTIONS", "0.05,0.1,0.5"));
    double cap = BenchContext.envDouble("E2E_MAX_RATE", 500);
    double[] asked = max.isPresent()
        ? Arrays.stream(fractions).map(f -> Math.max(1, Math.round(f * max.get()))).toArray()
        : doubles(BenchContext.env("E2E_RATES", "50,200"));
    double[] rates = Arrays.stream(asked).map(r -> Math.min(r, cap)).distinct().toArray();
    String source = max.map(m -> String.format(java.util.Locale.ROOT,
            "%s of the relay's fan-out maximum from phase 3 (%s/s in fanout.json): %s/s", shares(fractions),
            Stats.fmt(m, 0), join(asked)))
        .orElse("fixed rates from E2E_RATES (" + join(asked) + "/s), **not** shares of the fan-out maximum: " + why);
    if (Arrays.stream(asked).anyMatch(r -> r > cap)) {
      source += String.format(java.util.Locale.ROOT, "; **capped at %s/s** (E2E_MAX_RATE), so run at %s/s: the "
          + "fan-out maximum is the node's alone, fed straight into relay-deliveries, while this path also runs "
          + "the send function (HTTP, a registry read, a publish) and the emulator's hops on the same two cores; an "
          + "offered rate far above what that sustains only builds a backlog that outlives the phase, and the "
          + "bursts it delivers get the acking client closed by the node's inbound rate limit", Stats.fmt(cap, 0),
          join(rates));
    }
    System.err.println("e2e rates " + Arrays.toString(rates) + ": " + source);

    String user = "bench-e2e-" + ctx.runId();
    Map<String, Long> scheduled = new ConcurrentHashMap<>();
    LatencyRecorder relay = new LatencyRecorder();
    LatencyRecorder accepted = new LatencyRecorder();
    Map<String, RateResult> results = new LinkedHashMap<>();
    java.util.function.BiConsumer<com.fasterxml.jackson.databind.JsonNode, Long> onFrame = (frame, now) -> {
      Long due = scheduled.remove(frame.path("id").asText());
      if (due != null) {
        relay.record(due, now);
      }
    };
    try (EmulatorFloor floor = new EmulatorFloor(ctx)) {
      socket = stack.socket(ctx.node1Url(), user, onFrame);
      socket.awaitEstablished();
      // Warm-up, not recorded: a fresh stack (six JVMs still compiling) offered the full rate at once falls
      // behind, and the backlog arrives in bursts; so a ramp to the first rate in four steps, then each other.
      int step = 0;
      for (double share : new double[] {0.25, 0.5, 0.75, 1}) {
        floor.start(floorRate);
        load(user, Math.max(1, rates[0] * share), Math.max(1, warmup / 4), "warm-" + ctx.runId() + "-" + step++,
            scheduled, relay, accepted, new AtomicInteger(), floor, Path.DIRECT);
        floor.stop();
      }
      for (int w = 1; w < rates.length; w++) {
        floor.start(floorRate);
        load(user, rates[w], Math.min(10, warmup), "warm-" + ctx.runId() + "-" + step++, scheduled, relay,
            accepted, new AtomicInteger(), floor, Path.DIRECT);
        floor.stop();
      }
      for (double rate : rates) {
        for (Path path : Path.values()) {
          results.put(key(rate, path), new RateResult(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
              new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new Histogram(LatencyRecorder.MAX_US, 3),
              new ArrayList<>()));
        }
      }
      for (int rep = 0; rep < repeats; rep++) {
        for (double rate : rates) {
          for (Path path : Path.values()) {
            if (socket.closedBy().isPresent()) {
              System.err.println("e2e: the node had closed the socket (" + socket.closedBy().get() + "); reconnecting");
              socket = stack.socket(ctx.node1Url(), user, onFrame);
              socket.awaitEstablished();
            }
            AtomicInteger errors = new AtomicInteger();
            scheduled.clear();
            relay.reset();
            accepted.reset();
            floor.start(floorRate);
            int sent = load(user, rate, seconds, "e2e-" + ctx.runId() + "-" + rep + "-" + (long) rate + "-"
                + path.ordinal(), scheduled, relay, accepted, errors, floor, path);
            Histogram f = floor.stop();
            Histogram r = relay.reset();
            RateResult res = results.get(key(rate, path));
            double[] rp = LatencyRecorder.percentiles(r);
            double[] fp = LatencyRecorder.percentiles(f);
            res.relay().add(rp);
            res.floor().add(fp);
            res.accepted().add(LatencyRecorder.percentiles(accepted.reset()));
            res.ratio().add(rp[1] / fp[1]);
            res.lost().add(sent - errors.get() - (int) r.getTotalCount());
            res.errors().add(errors.get());
            res.pooled().add(r);
            socket.closedBy().ifPresent(res.closes()::add);
            System.err.printf(java.util.Locale.ROOT, "e2e rep %d rate %.0f/s %s: relay p50 %.1f p99 %.1f p99.9 %.1f ms "
                    + "(n=%d, errors %d); floor p50 %.1f p99 %.1f ms (n=%d)%n", rep, rate, path, rp[0], rp[1], rp[2],
                r.getTotalCount(), errors.get(), fp[0], fp[1], f.getTotalCount());
          }
        }
      }
      return report(results, rates, source, seconds, repeats, warmup, floorRate);
    } finally {
      if (socket != null) {
        socket.close();
      }
    }
  }

  /**
   * Sends {@code rate * seconds} messages open loop, ends the floor's publishing with the last send (so
   * both cover the same window), and waits for the messages; returns how many were sent.
   */
  private int load(String user, double rate, int seconds, String tag, Map<String, Long> scheduled,
      LatencyRecorder relay, LatencyRecorder accepted, AtomicInteger errors, EmulatorFloor floor, Path path)
      throws Exception {
    int n = (int) Math.round(rate * seconds);
    long before = relay.count();
    OpenLoop.run(rate, n, (i, due) -> {
      String id = tag + "-" + i;
      scheduled.put(id, due);
      stack.http().sendAsync(path == Path.DIRECT ? stack.sendRequest(user, id) : stack.sendViaRouteFunction(user, id),
              HttpResponse.BodyHandlers.discarding())
          .whenComplete((r, e) -> {
            if (e != null || r.statusCode() != 202) {
              errors.incrementAndGet();
            } else {
              accepted.record(due, System.nanoTime());
            }
          });
    });
    floor.stopPublishing();
    OpenLoop.await(() -> relay.count() - before >= n - errors.get(), DELIVERY_WAIT_MS);
    return n;
  }

  private static String key(double rate, Path path) {
    return rate + "/" + path;
  }

  private String report(Map<String, RateResult> results, double[] rates, String source, int seconds, int repeats,
      int warmup, double floorRate) {
    StringBuilder md = new StringBuilder("### Phase 4 — end to end (send function → socket frame)\n\n");
    md.append(String.format(java.util.Locale.ROOT, "Rates: %s. Open loop (each send due at a fixed time, latency "
            + "from that *scheduled* time, HdrHistogram), one socket on node 1, %d s per run, %d runs per rate after "
            + "an unrecorded warm-up of the stack (%d s ramping to the first rate in four steps, up to 10 s at each other). The floor is the Pub/Sub "
            + "emulator alone: a scratch topic and subscription of this run, published at a fixed %s/s and read "
            + "by streaming pull in the bench process, **concurrently** with each relay run (same window, same "
            + "machine load). Milliseconds; median (min–max) over the runs; \"all runs\" pools every sample of the "
            + "rate (below 1,000 samples p99.9 is close to the maximum); \"202\" is the send's own answer, from its "
            + "scheduled time to the send function's 202 (the registry lookup and the publish).%n%n",
        source, seconds, repeats, warmup, Stats.fmt(floorRate, 0)));
    md.append("| rate | path | p50 ms | p99 ms | p99.9 ms | p99.9 all runs (samples) | p99 ÷ floor p99 "
        + "| 202 p50 / p99 ms | not delivered in 15 s | send errors |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (double rate : rates) {
      for (Path path : Path.values()) {
        RateResult r = results.get(key(rate, path));
        md.append(String.format(java.util.Locale.ROOT, "| %s/s | %s | %s | %s | %s | %s (%d) | %s | %s / %s | %s | %s |%n",
            Stats.fmt(rate, 0), path.label, col(r.relay(), 0), col(r.relay(), 1), col(r.relay(), 2),
            Stats.fmt(LatencyRecorder.ms(r.pooled(), 99.9), 1), r.pooled().getTotalCount(),
            Stats.medianSpread(r.ratio(), 2), col(r.accepted(), 0), col(r.accepted(), 1), r.lost(), r.errors()));
        md.append(String.format("| %s/s | emulator floor, same window | %s | %s | %s | | | | | |%n",
            Stats.fmt(rate, 0), col(r.floor(), 0), col(r.floor(), 1), col(r.floor(), 2)));
      }
    }
    for (String k : results.keySet()) {
      double rate = Double.parseDouble(k.substring(0, k.indexOf('/')));
      List<String> closes = results.get(k).closes();
      if (!closes.isEmpty()) {
        md.append(String.format("%nAt %s/s the node closed the bench's socket in %d of %d runs (%s); its later messages "
            + "count as not delivered, and the next run reconnected.%n", Stats.fmt(rate, 0), closes.size(), repeats,
            String.join("; ", closes)));
      }
    }
    md.append("\nThe direct route is one of this issue's hot-path fixes: a message for a user who holds a socket "
        + "goes from the send function straight to the node's deliveries (one Pub/Sub hop, no route function); "
        + "\"via route function\" sends the same message as a one-user `userIds` request, which takes the path every "
        + "message took before that change (send → relay-requests → push to the route function → relay-deliveries), "
        + "so the two rows are the before and after, measured in the same run, alternating.\n");
    md.append("\nGoal: relay p99 under 2× the floor's p99 (the direct route's row is the relay as deployed).\n\n");
    return md.toString();
  }

  private static String col(List<double[]> runs, int i) {
    return Stats.medianSpread(runs.stream().map(r -> r[i]).toList(), 1);
  }

  private static double[] doubles(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .mapToDouble(Double::parseDouble).distinct().toArray();
  }

  private static String join(double[] rates) {
    return String.join(", ", Arrays.stream(rates).mapToObj(r -> Stats.fmt(r, 0)).toList());
  }

  private static String shares(double[] fractions) {
    return String.join(" and ", Arrays.stream(fractions).mapToObj(f -> Stats.fmt(f * 100, 0) + " %").toList());
  }
}
