package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Phase 3: how many messages a server pushes out. Each contender in turn holds one socket for each of
 * N users; deliveries are published to {@code relay-deliveries} exactly as the route function publishes
 * them (RelayMessage JSON, attribute {@code node_id} of the server under test), round robin over the
 * users, open loop at rising rates: message i of a step is due at start + i/rate and its latency runs
 * from that scheduled time to the frame's arrival at the client (no coordinated omission). A ramp
 * stops at the first step whose p99 passes the limit (twice, with FANOUT_RETRY); a message not
 * delivered by the end of the drain counts at the histogram's top. Writes fanout.md and fanout.json
 * (phase 4 reads relay.maxRatePerSecond).
 */
final class FanoutPhase {
  private static final long MAX_LATENCY_US = TimeUnit.SECONDS.toMicros(60);
  private static final String DATA = "{\"text\":\"agent finished step 3\",\"n\":1}";

  private final SocketBenchSettings s;
  private final int sockets = SocketBenchSettings.envInt("FANOUT_SOCKETS", 1000);
  private final int[] rates = SocketBenchSettings.envInts("FANOUT_RATES",
      "200,400,700,1000,1500,2000,3000,4000,6000,8000");
  private final int stepSeconds = SocketBenchSettings.envInt("FANOUT_STEP_SECONDS", 5);
  private final int drainSeconds = SocketBenchSettings.envInt("FANOUT_DRAIN_SECONDS", 5);
  private final int warmSeconds = SocketBenchSettings.envInt("FANOUT_WARM_SECONDS", 30);
  private final int warmRate = SocketBenchSettings.envInt("FANOUT_WARM_RATE",
      rates[Math.min(1, rates.length - 1)]);
  private final int runs = SocketBenchSettings.envInt("FANOUT_RUNS", 3);
  /** A step that misses the limit runs once more before the ramp stops: one stall of a shared machine is no end. */
  private final boolean retryMisses = SocketBenchSettings.envInt("FANOUT_RETRY", 1) == 1;
  private final int p99LimitMs = SocketBenchSettings.envInt("FANOUT_P99_LIMIT_MS", 100);
  private final int concurrency = SocketBenchSettings.envInt("FANOUT_CONNECT_CONCURRENCY", 32);
  private final List<Contender> contenders = Contender.parse(SocketBenchSettings.env("FANOUT_SERVERS",
      "relay,ws,socketio"));
  private final TokenMint tokens;
  private int stepCounter;

  FanoutPhase(SocketBenchSettings s) {
    this.s = s;
    this.tokens = new TokenMint(s.jwtSecret(), Duration.ofHours(2));
  }

  /** One step of a ramp. */
  record Step(int rate, long expected, long delivered, double p50Ms, double p99Ms, double p999Ms, double cpuSeconds,
      double clientCpuSeconds, double windowSeconds, long publishErrors, double publishP99Ms, long duplicates) {
    double perCpuSecond() {
      return cpuSeconds > 0 ? delivered / cpuSeconds : Double.NaN;
    }
  }

  /** What the socket sink records into while a step runs; ids are {@code tag-seq}. */
  private static final class StepState {
    final String prefix;
    final long start;
    final long period;
    final AtomicIntegerArray seen;
    final Histogram latency = new ConcurrentHistogram(MAX_LATENCY_US, 3);
    final LongAdder delivered = new LongAdder();
    final LongAdder duplicates = new LongAdder();

    StepState(String tag, long start, long period, int n) {
      this.prefix = tag + "-";
      this.start = start;
      this.period = period;
      this.seen = new AtomicIntegerArray(n);
    }

    void arrived(String id, long nanos) {
      if (!id.startsWith(prefix)) {
        return; // a late copy from an earlier step, already counted there as not delivered
      }
      int seq = Integer.parseInt(id, prefix.length(), id.length(), 10);
      if (seen.getAndSet(seq, 1) != 0) {
        duplicates.increment();
        return;
      }
      long us = (nanos - (start + seq * period)) / 1000;
      latency.recordValue(Math.min(MAX_LATENCY_US, Math.max(0, us)));
      delivered.increment();
    }
  }

  private volatile StepState current;
  /** Every message frame that arrived, of any step. */
  private final LongAdder arrivals = new LongAdder();

  String run() throws Exception {
    Map<Contender, List<List<Step>>> ramps = new EnumMap<>(Contender.class);
    for (Contender c : contenders) {
      // a fresh emulator for each server: none inherits another's retained messages
      try (FanoutEmulator emulator = FanoutEmulator.start(s, c.key() + "-" + s.runId());
          PubSubMessagePublisher messages = new PubSubMessagePublisher(emulator.clients())) {
        ramps.put(c, ramps(c, emulator.host(), new RelayPublisher(messages, s.topology())));
      }
    }
    writeJson(ramps);
    return report(ramps);
  }

  /**
   * One server process: connect, warm up (the JIT of a fresh server, and of this client on the first
   * server, takes tens of seconds on one CPU), then the ramps back to back, each after the last one's
   * backlog has drained.
   */
  private List<List<Step>> ramps(Contender c, String pubsubHost, RelayPublisher publisher) throws Exception {
    List<List<Step>> result = new ArrayList<>();
    List<String> users = new ArrayList<>();
    for (int u = 0; u < sockets; u++) {
      users.add("fan-" + s.runId() + "-" + c.key() + "-" + u);
    }
    List<ClientSocket> open = new ArrayList<>();
    try (PushClient client = new PushClient(tokens);
        PushServer server = PushServer.start(c, s, sockets, "fanout", pubsubHost)) {
      try {
        open.addAll(client.connect(server, users, concurrency, (id, t) -> {
          arrivals.increment();
          StepState st = current;
          if (st != null) {
            st.arrived(id, t);
          }
        }, Duration.ofMinutes(5)));
        Step warm = step(server, users, publisher, warmRate, warmSeconds);
        System.err.printf("fanout %s warm-up %d/s for %d s: p99 %.1f ms, %d of %d delivered, server %.2f cores%n",
            c.key(), warm.rate(), warmSeconds, warm.p99Ms(), warm.delivered(), warm.expected(),
            warm.cpuSeconds() / warm.windowSeconds());
        for (int run = 0; run < runs; run++) {
          awaitQuiet();
          result.add(ramp(c, run, server, users, open, publisher));
        }
      } finally {
        current = null;
        server.close();
        PushClient.closeAll(open, Duration.ofSeconds(10));
      }
    }
    return result;
  }

  private List<Step> ramp(Contender c, int run, PushServer server, List<String> users, List<ClientSocket> open,
      RelayPublisher publisher) throws Exception {
    List<Step> steps = new ArrayList<>();
    for (int rate : rates) {
      Step st = step(server, users, publisher, rate, stepSeconds);
      if (st.p99Ms() > p99LimitMs && retryMisses) {
        System.err.printf("fanout run %d %s %d/s: p99 %.1f ms (%d of %d delivered), once more%n", run, c.key(), rate,
            st.p99Ms(), st.delivered(), st.expected());
        awaitQuiet();
        st = step(server, users, publisher, rate, stepSeconds);
      }
      steps.add(st);
      long closed = open.stream().filter(x -> !x.open()).count();
      System.err.printf("fanout run %d %s %d/s: p50 %.1f p99 %.1f p99.9 %.1f ms, %d of %d delivered, "
              + "%.0f per CPU-s (server %.2f cores, client %.2f cores), publish errors %d, publish p99 %.1f ms, "
              + "duplicates %d, sockets closed %d%n",
          run, c.key(), rate, st.p50Ms(), st.p99Ms(), st.p999Ms(), st.delivered(), st.expected(),
          st.perCpuSecond(), st.cpuSeconds() / st.windowSeconds(), st.clientCpuSeconds() / st.windowSeconds(),
          st.publishErrors(), st.publishP99Ms(), st.duplicates(), closed);
      if (closed > 0) {
        throw new IllegalStateException(closed + " sockets to " + c.key() + " closed during the ramp; log tail:\n"
            + server.logTail());
      }
      if (st.p99Ms() > p99LimitMs) {
        break;
      }
    }
    return steps;
  }

  /** Until no message frame arrived for a second (the last step's backlog is through), at most 30 s. */
  private void awaitQuiet() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long seen = arrivals.sum();
    long quietSince = System.nanoTime();
    while (System.nanoTime() < deadline) {
      Thread.sleep(50);
      long now = arrivals.sum();
      if (now != seen) {
        seen = now;
        quietSince = System.nanoTime();
      } else if (System.nanoTime() - quietSince > TimeUnit.SECONDS.toNanos(1)) {
        return;
      }
    }
  }

  private Step step(PushServer server, List<String> users, RelayPublisher publisher, int rate, int seconds)
      throws Exception {
    int n = rate * seconds;
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    String tag = "f" + s.runId() + "x" + (++stepCounter);
    LongAdder publishErrors = new LongAdder();
    Histogram publishLatency = new ConcurrentHistogram(MAX_LATENCY_US, 3);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    StepState st = new StepState(tag, start, period, n);
    double cpu0 = server.cpuSeconds();
    double client0 = ownCpuSeconds();
    long t0 = System.nanoTime();
    current = st;
    for (int i = 0; i < n; i++) {
      long due = start + i * period;
      long now;
      while ((now = System.nanoTime()) < due) {
        LockSupport.parkNanos(due - now);
      }
      RelayMessage m = new RelayMessage(tag + "-" + i, users.get(i % users.size()), "bench", DATA, Instant.now(), 3600,
          Priority.NORMAL);
      publisher.delivery(server.nodeId(), m).whenComplete((id, e) -> {
        if (e != null) {
          publishErrors.increment();
        } else {
          publishLatency.recordValue(Math.min(MAX_LATENCY_US, Math.max(0, (System.nanoTime() - due) / 1000)));
        }
      });
    }
    long deadline = start + n * period + TimeUnit.SECONDS.toNanos(drainSeconds);
    while (st.delivered.sum() < n && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    long t1 = System.nanoTime();
    double cpu1 = server.cpuSeconds();
    double client1 = ownCpuSeconds();
    long delivered = st.delivered.sum();
    Histogram h = st.latency.copy();
    if (delivered < n) {
      h.recordValueWithCount(MAX_LATENCY_US, n - delivered);
    }
    return new Step(rate, n, delivered, h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getValueAtPercentile(99.9) / 1000.0, cpu1 - cpu0, client1 - client0, (t1 - t0) / 1e9,
        publishErrors.sum(), publishLatency.getValueAtPercentile(99) / 1000.0, st.duplicates.sum());
  }

  private static double ownCpuSeconds() throws IOException {
    return ServerProcess.cpuSecondsOf(ProcessHandle.current().pid());
  }

  /** The highest rate whose p99 stayed within the limit, 0 when even the first step missed it. */
  private int maxRate(List<Step> ramp) {
    int best = 0;
    for (Step st : ramp) {
      if (st.p99Ms() <= p99LimitMs) {
        best = Math.max(best, st.rate());
      }
    }
    return best;
  }

  private Step at(List<Step> ramp, int rate) {
    return ramp.stream().filter(st -> st.rate() == rate).findFirst().orElse(null);
  }

  private void writeJson(Map<Contender, List<List<Step>>> ramps) throws IOException {
    var root = JsonCodec.object();
    for (var e : ramps.entrySet()) {
      List<Double> max = e.getValue().stream().map(r -> (double) maxRate(r)).toList();
      List<Double> perCpu = e.getValue().stream().map(r -> {
        Step st = at(r, maxRate(r));
        return st == null ? Double.NaN : st.perCpuSecond();
      }).filter(v -> !v.isNaN()).toList();
      var node = root.putObject(e.getKey().key());
      node.put("maxRatePerSecond", (long) Stats.median(max));
      node.set("maxRatePerSecondRuns", JsonCodec.mapper().valueToTree(max.stream().map(Double::longValue).toList()));
      node.put("deliveredPerCpuSecondAtMax", perCpu.isEmpty() ? 0 : Math.round(Stats.median(perCpu)));
    }
    root.put("p99LimitMs", p99LimitMs);
    root.put("stepSeconds", stepSeconds);
    root.put("sockets", sockets);
    Files.writeString(s.out().resolve("fanout.json"), JsonCodec.write(root) + "\n");
  }

  private String report(Map<Contender, List<List<Step>>> ramps) throws IOException {
    double jetty = jettyCeiling();
    // efficiency compared at the same load: the highest step that every server passed in at least one ramp
    // (the first rate when one never passed even that: every ramp ran it)
    int common = Integer.MAX_VALUE;
    for (List<List<Step>> runsOf : ramps.values()) {
      common = Math.min(common, runsOf.stream().mapToInt(this::maxRate).max().orElse(0));
    }
    common = Math.max(common == Integer.MAX_VALUE ? 0 : common, rates[0]);
    StringBuilder md = new StringBuilder("### Phase 3 — fan-out: delivery rate and CPU per message\n\n");
    md.append(String.format("Each server in turn, as one process with a fresh node id, holds %d sockets, one per user, "
        + "opened from the client JVM (which acks every message frame, as a real client does). Deliveries are "
        + "published to `relay-deliveries` exactly as the route function publishes them (`RelayPublisher.delivery`: "
        + "RelayMessage JSON, attribute `node_id` of the server under test), round robin over the users, open loop: "
        + "message i of a step is due at start + i ÷ rate, and its latency runs from that scheduled time to the "
        + "frame's arrival at the client (HdrHistogram, no coordinated omission). Each server is first warmed up "
        + "for %d s at %d msg/s (not counted: on one CPU the JIT of a fresh JVM needs that long, and the client's "
        + "own JIT warms up on the first server), then runs %d ramps back to back, each once the last one's backlog "
        + "is through: steps of %d s at %s msg/s, each waiting up to %d s for its last messages; one not delivered "
        + "by then counts at the histogram's top (60 s). A ramp stops at the first step whose p99 passes %d ms%s. "
        + "CPU is the server process's utime+stime (/proc/PID/stat) over the step, from its first publish to its "
        + "last delivery. Whole pipelines: each server pulls its own subscription (our node: its own pull loop; "
        + "the peers: @google-cloud/pubsub's streaming pull). %s Each server gets a fresh Pub/Sub emulator of this "
        + "phase's own (`-Xmx%s`, topics as the topology names them), not the stack's: the emulator keeps every "
        + "message ever published to a topic in its heap, so the deliveries of the ramps would fill the stack's "
        + "emulator (512 MB) and slow or break the phases after this one, and there the stack's two nodes would "
        + "also pull, and ack away, every delivery (the emulator ignores subscription filters). Firestore is the "
        + "stack's. The server under test is pinned to CPU %s, the client JVM (publisher and sockets) to CPU %s; "
        + "the emulators and the rest of the local stack are not pinned. Our node on %s, JVM flags %s, peers on "
        + "Node %s. Median (min–max) over the ramps.%n%n",
        sockets, warmSeconds, warmRate, runs, stepSeconds, joined(rates), drainSeconds, p99LimitMs,
        retryMisses ? " twice in a row (a step that misses runs once more, after the backlog is through, so that "
            + "one stall of this shared machine does not end a ramp; the second try counts)" : "",
        PushServer.PEERS_ORDERED
            ? "Every subscription is ordered by user, ours and the peers' alike (FANOUT_PEERS_ORDERED=1): each "
                + "server hands a user's messages over in publish order, the guarantee our node gives; on the "
                + "emulator an ordered subscription hands a user's next message only once the last one is acked, "
                + "and returns at most 100 messages a pull."
            : "The peers' subscriptions are not ordered (FANOUT_PEERS_ORDERED=0), ours is: the peers give no "
                + "per-user order.",
        s.fanoutEmulatorHeap(), s.serverCpus(), s.clientCpus(), s.nodeJavaVersion(), s.nodeJvmFlags(),
        s.nodeVersion()));
    List<List<Step>> ours = ramps.get(Contender.RELAY);
    double ourMax = ours == null ? Double.NaN : Stats.median(ours.stream().map(r -> (double) maxRate(r)).toList());
    double ourCpuCommon = ours == null ? Double.NaN : medianPerCpu(ours, common);
    md.append(String.format("| server | max rate with p99 ≤ %d ms, msg/s | ours ÷ this | share of the Jetty ceiling "
        + "| delivered per CPU-second at its max rate | delivered per CPU-second at %d msg/s (ramps) "
        + "| ours ÷ this |%n",
        p99LimitMs, common));
    md.append("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (var e : ramps.entrySet()) {
      List<Double> max = e.getValue().stream().map(r -> (double) maxRate(r)).toList();
      List<Double> perCpuMax = new ArrayList<>();
      List<Double> perCpuCommon = new ArrayList<>();
      for (List<Step> r : e.getValue()) {
        Step atMax = at(r, maxRate(r));
        if (atMax != null) {
          perCpuMax.add(atMax.perCpuSecond());
        }
        Step atCommon = at(r, common);
        if (atCommon != null) {
          perCpuCommon.add(atCommon.perCpuSecond());
        }
      }
      boolean peer = e.getKey() != Contender.RELAY && ours != null;
      long topPassed = e.getValue().stream().filter(r -> maxRate(r) == rates[rates.length - 1]).count();
      String maxCell = Stats.medianSpread(max, 0) + (topPassed == 0 ? ""
          : String.format(" (the top step passed in %d of %d runs: at least this)", topPassed, e.getValue().size()));
      md.append(String.format("| %s | %s | %s | %s | %s | %s | %s |%n", e.getKey().label(), maxCell,
          peer ? ratio(ourMax, Stats.median(max)) : "",
          Double.isNaN(jetty) ? "n/a (phase 1 not run)" : Stats.fmt(100 * Stats.median(max) / jetty, 1) + " %",
          Stats.medianSpread(perCpuMax, 0), Stats.medianSpread(perCpuCommon, 0) + " (" + perCpuCommon.size() + ")",
          peer ? ratio(ourCpuCommon, Stats.median(perCpuCommon)) : ""));
    }
    md.append("\nWhat ended the ramps, at the step that missed (median over the ramps that ended so): the server's CPU "
        + "use in cores (1.00 = all of its pinned core), p50, the p99 of the publish calls themselves (publish to the "
        + "emulator's answer, seen by the client), and messages not delivered by the end of the drain.\n\n");
    md.append("| server | ramps that missed | rate missed, msg/s | server cores | p50 ms | publish p99 ms | "
        + "not delivered |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (var e : ramps.entrySet()) {
      List<Step> missed = e.getValue().stream().filter(r -> !r.isEmpty() && r.get(r.size() - 1).p99Ms() > p99LimitMs)
          .map(r -> r.get(r.size() - 1)).toList();
      if (missed.isEmpty()) {
        md.append(String.format("| %s | 0 of %d | | | | | |%n", e.getKey().label(), e.getValue().size()));
        continue;
      }
      md.append(String.format("| %s | %d of %d | %s | %s | %s | %s | %s |%n", e.getKey().label(), missed.size(),
          e.getValue().size(), Stats.medianSpread(missed.stream().map(st -> (double) st.rate()).toList(), 0),
          Stats.medianSpread(missed.stream().map(st -> st.cpuSeconds() / st.windowSeconds()).toList(), 2),
          Stats.medianSpread(missed.stream().map(Step::p50Ms).toList(), 1),
          Stats.medianSpread(missed.stream().map(Step::publishP99Ms).toList(), 1),
          Stats.medianSpread(missed.stream().map(st -> (double) (st.expected() - st.delivered())).toList(), 0)));
    }
    md.append(String.format("%nShare of the ceiling: the max rate ÷ the Jetty echo's round trips/s of phase 1 "
        + "(%s). Per CPU-second is compared at %d msg/s, the highest step that every server passed in at least one "
        + "ramp (median over the ramps that ran it), so that all run at the same load; at its own max rate a server "
        + "batches more.%n%n",
        Double.isNaN(jetty) ? "not measured" : Stats.fmt(jetty, 0) + "/s", common));
    md.append("Per step, median over the runs that reached it (p50 / p99 in ms; delivered per CPU-second):\n\n");
    StringBuilder head = new StringBuilder("| rate |");
    StringBuilder rule = new StringBuilder("| --- |");
    for (Contender c : ramps.keySet()) {
      head.append(' ').append(c.key()).append(" p50 / p99 | ").append(c.key()).append(" per CPU-s |");
      rule.append(" --- | --- |");
    }
    md.append(head).append('\n').append(rule).append('\n');
    for (int rate : rates) {
      StringBuilder row = new StringBuilder("| " + rate + " |");
      boolean any = false;
      for (List<List<Step>> runsOf : ramps.values()) {
        List<Step> reached = runsOf.stream().map(r -> at(r, rate)).filter(x -> x != null).toList();
        if (reached.isEmpty()) {
          row.append(" — | — |");
          continue;
        }
        any = true;
        row.append(String.format(" %s / %s | %s |",
            Stats.fmt(Stats.median(reached.stream().map(Step::p50Ms).toList()), 1),
            Stats.fmt(Stats.median(reached.stream().map(Step::p99Ms).toList()), 1),
            Stats.fmt(Stats.median(reached.stream().map(Step::perCpuSecond).toList()), 0)));
      }
      if (any) {
        md.append(row).append('\n');
      }
    }
    md.append('\n');
    if (ours != null) {
      boolean ahead = true;
      StringBuilder against = new StringBuilder();
      for (var e : ramps.entrySet()) {
        if (e.getKey() == Contender.RELAY) {
          continue;
        }
        double peer = medianPerCpu(e.getValue(), common);
        ahead &= ourCpuCommon > peer;
        against.append(String.format("%s %s; ", e.getKey().key(), Stats.fmt(peer, 0)));
      }
      md.append(String.format("- Goal: more delivered messages per CPU-second than both peers — **%s** (ours %s at "
          + "%d msg/s; %s).%n%n", ahead ? "met" : "missed", Stats.fmt(ourCpuCommon, 0), common,
          against.toString().replaceAll("; $", "")));
    }
    return md.toString();
  }

  /** ours ÷ theirs, or n/a when either is missing or theirs is 0. */
  private static String ratio(double ours, double theirs) {
    return Double.isNaN(ours) || Double.isNaN(theirs) || theirs == 0 ? "n/a" : Stats.fmt(ours / theirs, 2);
  }

  private double medianPerCpu(List<List<Step>> runsOf, int rate) {
    return Stats.median(runsOf.stream().map(r -> at(r, rate)).filter(x -> x != null).map(Step::perCpuSecond)
        .toList());
  }

  private double jettyCeiling() {
    Path p = s.out().resolve("ceiling.json");
    try {
      JsonNode n = JsonCodec.mapper().readTree(Files.readString(p));
      return n.path("jetty").path("roundTripsPerSecond").asDouble(Double.NaN);
    } catch (IOException e) {
      return Double.NaN;
    }
  }

  private static String joined(int[] values) {
    StringBuilder b = new StringBuilder();
    for (int v : values) {
      b.append(b.length() > 0 ? ", " : "").append(v);
    }
    return b.toString();
  }
}
