package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.cloud.pubsub.v1.Publisher;
import com.google.cloud.pubsub.v1.Subscriber;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PubsubMessage;
import com.google.pubsub.v1.PushConfig;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.json.JsonCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Benchmarks against a running local stack (scripts/run-local.sh). Every load targets 127.0.0.1 and is
 * bounded in count and time. Usage: RelayBench PHASE... where PHASE is e2e, pending, cost or coldstart;
 * each writes a Markdown section to $BENCH_OUT/PHASE.md.
 *
 * <p>Settings (environment): SEND_URL, ROUTE_URL, NODE1_URL, NODE2_URL (http://127.0.0.1:port),
 * PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, BENCH_OUT, and for coldstart
 * NODE_CP, RELAY_JWT_SECRET, COLD_JAVAS (name=path/to/java,…), COLD_RUNS, COLD_PORT.
 */
public final class RelayBench {
  private static final long MAX_LATENCY_US = TimeUnit.SECONDS.toMicros(60);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String sendUrl = env("SEND_URL", "http://127.0.0.1:8080");
  private final String routeUrl = env("ROUTE_URL", "http://127.0.0.1:8081");
  private final String node1Url = env("NODE1_URL", "http://127.0.0.1:8090");
  private final String node2Url = env("NODE2_URL", "http://127.0.0.1:8091");
  private final String project = env("GOOGLE_CLOUD_PROJECT", "relay-local");
  private final Path out = Path.of(env("BENCH_OUT", "bench/target/results"));
  private final String runId = Long.toString(System.currentTimeMillis(), 36);

  public static void main(String[] args) throws Exception {
    RelayBench b = new RelayBench();
    Files.createDirectories(b.out);
    for (String phase : args) {
      long t0 = System.nanoTime();
      System.err.println("== phase " + phase);
      String md = switch (phase) {
        case "e2e" -> b.endToEnd();
        case "pending" -> b.pending();
        case "cost" -> b.cost();
        case "coldstart" -> b.coldStart();
        default -> throw new IllegalArgumentException("unknown phase " + phase);
      };
      Files.writeString(b.out.resolve(phase + ".md"), md);
      System.err.printf("== phase %s done in %.1f s%n", phase, (System.nanoTime() - t0) / 1e9);
      System.out.println(md);
    }
    System.exit(0);
  }

  static String env(String name, String dflt) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? dflt : v;
  }

  static int envInt(String name, int dflt) {
    return Integer.parseInt(env(name, Integer.toString(dflt)));
  }

  // ---------------------------------------------------------------- helpers

  private String token(String userId) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(node1Url + "/dev/token?userId=" + userId))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("dev token: " + r.statusCode() + " " + r.body());
    }
    return JsonCodec.mapper().readTree(r.body()).path("token").asText();
  }

  private BenchSocket socket(String nodeUrl, String userId, java.util.function.BiConsumer<JsonNode, Long> onMessage)
      throws Exception {
    String ws = nodeUrl.replaceFirst("^http", "ws") + "/ws";
    return BenchSocket.connect(http, ws, token(userId), onMessage);
  }

  private HttpRequest sendRequest(String userId, String id) {
    String body = "{\"userId\":\"" + userId + "\",\"id\":\"" + id
        + "\",\"event\":\"bench\",\"data\":{\"text\":\"agent finished step 3\",\"n\":1}}";
    return HttpRequest.newBuilder(URI.create(sendUrl + "/v1/messages"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  private static void sleepUntil(long nanoTarget) {
    long now;
    while ((now = System.nanoTime()) < nanoTarget) {
      LockSupport.parkNanos(nanoTarget - now);
    }
  }

  private static String pct(Histogram h, double p) {
    return Stats.fmt(h.getValueAtPercentile(p) / 1000.0, 1);
  }

  // ---------------------------------------------------------------- phase 4: end to end

  /** One open-loop run: rate per second for seconds; latency from the scheduled send time. */
  private Histogram e2eRun(BenchSocket[] holder, Map<String, Long> scheduled, Histogram h, AtomicInteger errors,
      String userId, int rate, int seconds, String tag) throws Exception {
    int n = rate * seconds;
    long before = h.getTotalCount();
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    for (int i = 0; i < n; i++) {
      long target = start + i * period;
      sleepUntil(target);
      String id = tag + "-" + i;
      scheduled.put(id, target);
      http.sendAsync(sendRequest(userId, id), HttpResponse.BodyHandlers.discarding())
          .whenComplete((r, e) -> {
            if (e != null || r.statusCode() != 202) {
              errors.incrementAndGet();
            }
          });
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline && h.getTotalCount() - before < n - errors.get()) {
      Thread.sleep(20);
    }
    return h;
  }

  private Histogram floorRun(Publisher publisher, Histogram h, int rate, int seconds) throws Exception {
    int n = rate * seconds;
    long before = h.getTotalCount();
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    for (int i = 0; i < n; i++) {
      long target = start + i * period;
      sleepUntil(target);
      publisher.publish(PubsubMessage.newBuilder().setData(ByteString.copyFromUtf8(
          "{\"userId\":\"floor\",\"event\":\"bench\",\"data\":{\"text\":\"agent finished step 3\",\"n\":1}}"))
          .putAttributes("t", Long.toString(target)).build());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline && h.getTotalCount() - before < n) {
      Thread.sleep(20);
    }
    return h;
  }

  String endToEnd() throws Exception {
    int[] rates = java.util.Arrays.stream(env("E2E_RATES", "50,200").split(",")).mapToInt(Integer::parseInt).toArray();
    int seconds = envInt("E2E_SECONDS", 10);
    int repeats = envInt("E2E_REPEATS", 3);
    String user = "bench-e2e-" + runId;

    // The emulator floor: a scratch topic and a streaming-pull subscriber, in this same run.
    String pubsubHost = env("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085");
    GcpClients gcp = new GcpClients(GcpEndpoints.emulators(project, pubsubHost,
        env("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8086")));
    String topic = "bench-floor-" + runId;
    try (TopicAdminClient ta = gcp.topicAdmin(); SubscriptionAdminClient sa = gcp.subscriptionAdmin()) {
      ta.createTopic(gcp.topic(topic));
      sa.createSubscription(gcp.subscription(topic).toString(), gcp.topic(topic).toString(),
          PushConfig.getDefaultInstance(), 10);
    }
    Histogram[] floorH = {new Histogram(MAX_LATENCY_US, 3)};
    Subscriber sub = gcp.subscriber(topic, (msg, consumer) -> {
      long now = System.nanoTime();
      consumer.ack();
      long t = Long.parseLong(msg.getAttributesOrDefault("t", "0"));
      synchronized (floorH) {
        floorH[0].recordValue(Math.min(MAX_LATENCY_US, Math.max(0, (now - t) / 1000)));
      }
    }, 1, 10);
    sub.startAsync().awaitRunning();
    Publisher publisher = gcp.publisher(topic);

    Map<String, Long> scheduled = new ConcurrentHashMap<>();
    Histogram[] relayH = {new Histogram(MAX_LATENCY_US, 3)};
    AtomicInteger errors = new AtomicInteger();
    BenchSocket socket = socket(node1Url, user, (frame, now) -> {
      Long t = scheduled.remove(frame.path("id").asText());
      if (t != null) {
        synchronized (relayH) {
          relayH[0].recordValue(Math.min(MAX_LATENCY_US, Math.max(0, (now - t) / 1000)));
        }
      }
    });
    socket.awaitEstablished();

    // Warm-up, not recorded: both paths, 5 s at the lowest rate, then 3 s at each higher one.
    for (int w = 0; w < rates.length; w++) {
      e2eRun(null, scheduled, relayH[0], errors, user, rates[w], w == 0 ? 5 : 3, "warm-" + runId + "-" + w);
      floorRun(publisher, floorH[0], rates[w], w == 0 ? 5 : 3);
    }

    Map<Integer, List<double[]>> relay = new LinkedHashMap<>();
    Map<Integer, List<double[]>> floor = new LinkedHashMap<>();
    Map<Integer, List<Integer>> lost = new LinkedHashMap<>();
    for (int rep = 0; rep < repeats; rep++) {
      for (int rate : rates) {
        synchronized (relayH) {
          relayH[0] = new Histogram(MAX_LATENCY_US, 3);
        }
        scheduled.clear();
        errors.set(0);
        String tag = "e2e-" + runId + "-" + rep + "-" + rate;
        e2eRun(null, scheduled, relayH[0], errors, user, rate, seconds, tag);
        Histogram r;
        synchronized (relayH) {
          r = relayH[0].copy();
        }
        int missing = rate * seconds - (int) r.getTotalCount();
        synchronized (floorH) {
          floorH[0] = new Histogram(MAX_LATENCY_US, 3);
        }
        floorRun(publisher, floorH[0], rate, seconds);
        Histogram f;
        synchronized (floorH) {
          f = floorH[0].copy();
        }
        relay.computeIfAbsent(rate, k -> new ArrayList<>()).add(pcts(r));
        floor.computeIfAbsent(rate, k -> new ArrayList<>()).add(pcts(f));
        lost.computeIfAbsent(rate, k -> new ArrayList<>()).add(missing);
        System.err.printf("e2e rep %d rate %d/s: relay p50 %s p99 %s p999 %s ms (n=%d, errors %d, missing %d);"
                + " floor p50 %s p99 %s p999 %s ms%n", rep, rate, pct(r, 50), pct(r, 99), pct(r, 99.9),
            r.getTotalCount(), errors.get(), missing, pct(f, 50), pct(f, 99), pct(f, 99.9));
      }
    }
    socket.close();
    publisher.shutdown();
    publisher.awaitTermination(5, TimeUnit.SECONDS);
    sub.stopAsync().awaitTerminated(10, TimeUnit.SECONDS);
    gcp.close();

    StringBuilder md = new StringBuilder();
    md.append("### Phase 4 — end to end (send function → socket frame)\n\n");
    md.append(String.format("Open loop, one socket on node 1, latency from the *scheduled* send time; %d s per run, "
        + "%d runs per rate after a warm-up (5 s at the lowest rate, 3 s at each other); the floor is the Pub/Sub emulator alone (publish to a scratch topic, "
        + "streaming pull, same rate, same run, right after each relay run). Milliseconds, median (min–max) over the runs.%n%n",
        seconds, repeats));
    md.append("| rate | path | p50 ms | p99 ms | p99.9 ms | p99 ÷ floor p99 | not delivered in 15 s |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int rate : rates) {
      List<double[]> r = relay.get(rate);
      List<double[]> f = floor.get(rate);
      List<Double> ratio = new ArrayList<>();
      for (int i = 0; i < r.size(); i++) {
        ratio.add(r.get(i)[1] / f.get(i)[1]);
      }
      md.append(String.format("| %d/s | relay | %s | %s | %s | %s | %s |%n", rate, col(r, 0), col(r, 1), col(r, 2),
          Stats.medianSpread(ratio, 2), lost.get(rate)));
      md.append(String.format("| %d/s | emulator floor | %s | %s | %s | | |%n", rate, col(f, 0), col(f, 1), col(f, 2)));
    }
    md.append('\n');
    return md.toString();
  }

  private static double[] pcts(Histogram h) {
    return new double[] {h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getValueAtPercentile(99.9) / 1000.0};
  }

  private static String col(List<double[]> runs, int i) {
    List<Double> v = new ArrayList<>();
    for (double[] r : runs) {
      v.add(r[i]);
    }
    return Stats.medianSpread(v, 1);
  }

  // ---------------------------------------------------------------- phase 5: pending delivery

  String pending() throws Exception {
    int samples = envInt("PENDING_SAMPLES", 20);
    Histogram h = new Histogram(MAX_LATENCY_US, 3);
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < samples; i++) {
      String user = "bench-pend-" + runId + "-" + i;
      double parkedBefore = scrape(routeUrl).getOrDefault("relay_mailbox_parked_total", 0.0);
      HttpResponse<Void> r = http.send(sendRequest(user, "pend-" + runId + "-" + i),
          HttpResponse.BodyHandlers.discarding());
      if (r.statusCode() != 202) {
        throw new IllegalStateException("send answered " + r.statusCode());
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (scrape(routeUrl).getOrDefault("relay_mailbox_parked_total", 0.0) <= parkedBefore) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("message for " + user + " not parked within 15 s");
        }
        Thread.sleep(20);
      }
      AtomicLong first = new AtomicLong();
      CountDownLatch got = new CountDownLatch(1);
      String nodeUrl = i % 2 == 0 ? node1Url : node2Url;
      BenchSocket s = socket(nodeUrl, user, (frame, now) -> {
        if (first.compareAndSet(0, now)) {
          got.countDown();
        }
      });
      long est = s.awaitEstablished();
      if (!got.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("no parked message for " + user + " within 10 s");
      }
      long us = Math.max(0, (first.get() - est) / 1000);
      h.recordValue(Math.min(MAX_LATENCY_US, us));
      values.add(us / 1000.0);
      s.close();
      System.err.printf("pending %d: %.1f ms%n", i, us / 1000.0);
    }
    return "### Phase 5 — pending delivery\n\n"
        + String.format("Send to user U with no socket, wait until the route function parked it (its "
        + "`relay_mailbox_parked_total` moved), connect (alternating node 1 and 2); time from the `connection_established` "
        + "frame to the first `message` frame, both taken on arrival at the client. %d samples.%n%n", samples)
        + "| samples | p50 ms | p99 ms | max ms | min ms |\n| --- | --- | --- | --- | --- |\n"
        + String.format("| %d | %s | %s | %s | %s |%n%n", h.getTotalCount(), pct(h, 50), pct(h, 99),
            Stats.fmt(h.getMaxValue() / 1000.0, 1), Stats.fmt(h.getMinValue() / 1000.0, 1));
  }

  // ---------------------------------------------------------------- phase 7: cost

  /** Prometheus text: series summed per metric name (all labels), plus name{part=...} keys per part. */
  private Map<String, Double> scrape(String baseUrl) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    Map<String, Double> m = new HashMap<>();
    for (String line : r.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String name = line.substring(0, brace >= 0 ? brace : space);
      double v = Double.parseDouble(line.substring(space + 1).trim());
      m.merge(name, v, Double::sum);
    }
    return m;
  }

  private static final String[] COST_METRICS = {
      "relay_firestore_reads_total", "relay_firestore_writes_total", "relay_pubsub_publishes_total"};

  /** name -> part -> value, over the four processes. */
  private Map<String, Map<String, Double>> snapshot() throws Exception {
    Map<String, Map<String, Double>> s = new LinkedHashMap<>();
    Map<String, String> parts = new LinkedHashMap<>();
    parts.put("send", sendUrl);
    parts.put("route", routeUrl);
    parts.put("node1", node1Url);
    parts.put("node2", node2Url);
    for (var p : parts.entrySet()) {
      Map<String, Double> m = scrape(p.getValue());
      for (String name : COST_METRICS) {
        s.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(p.getKey(), m.getOrDefault(name, 0.0));
      }
    }
    return s;
  }

  private static Map<String, Map<String, Double>> diff(Map<String, Map<String, Double>> a,
      Map<String, Map<String, Double>> b) {
    Map<String, Map<String, Double>> d = new LinkedHashMap<>();
    for (var e : b.entrySet()) {
      for (var p : e.getValue().entrySet()) {
        double before = a.getOrDefault(e.getKey(), Map.of()).getOrDefault(p.getKey(), 0.0);
        d.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(p.getKey(), p.getValue() - before);
      }
    }
    return d;
  }

  private static double total(Map<String, Double> parts) {
    return parts.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  String cost() throws Exception {
    int n = envInt("COST_MESSAGES", 100);
    int rate = envInt("COST_RATE", 20);
    long period = TimeUnit.SECONDS.toNanos(1) / rate;

    // Background (node heartbeats, lease renewals): measured on an idle stack over a fixed window.
    long bgWindowMs = 10_000;
    var bg0 = snapshot();
    Thread.sleep(bgWindowMs);
    var bg = diff(bg0, snapshot());

    // Connected user.
    String userC = "bench-cost-c-" + runId;
    AtomicInteger receivedC = new AtomicInteger();
    BenchSocket sc = socket(node1Url, userC, (f, t) -> receivedC.incrementAndGet());
    sc.awaitEstablished();
    Thread.sleep(1000);
    long c0 = System.nanoTime();
    var a0 = snapshot();
    long start = System.nanoTime();
    for (int i = 0; i < n; i++) {
      sleepUntil(start + i * period);
      http.send(sendRequest(userC, "cost-c-" + runId + "-" + i), HttpResponse.BodyHandlers.discarding());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (receivedC.get() < n && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    Thread.sleep(2000);
    var connected = diff(a0, snapshot());
    double connectedWindowMs = (System.nanoTime() - c0) / 1e6;
    int deliveredC = receivedC.get();
    sc.close();

    // Pending user: N messages while offline, wait until all parked, connect, receive, settle.
    String userP = "bench-cost-p-" + runId;
    int np = envInt("COST_PENDING_MESSAGES", 50);
    long p0 = System.nanoTime();
    var b0 = snapshot();
    double parked0 = scrape(routeUrl).getOrDefault("relay_mailbox_parked_total", 0.0);
    start = System.nanoTime();
    for (int i = 0; i < np; i++) {
      sleepUntil(start + i * period);
      http.send(sendRequest(userP, "cost-p-" + runId + "-" + i), HttpResponse.BodyHandlers.discarding());
    }
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (scrape(routeUrl).getOrDefault("relay_mailbox_parked_total", 0.0) - parked0 < np
        && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    Map<String, Boolean> seen = new ConcurrentHashMap<>();
    AtomicInteger frames = new AtomicInteger();
    BenchSocket sp = socket(node1Url, userP, (f, t) -> {
      frames.incrementAndGet();
      seen.put(f.path("id").asText(), true);
    });
    sp.awaitEstablished();
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (seen.size() < np && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    // Let the nacked router copies come back (min backoff 2 s) and be settled while the user is online.
    int settle = envInt("COST_SETTLE_SECONDS", 10);
    Thread.sleep(settle * 1000L);
    var pendingD = diff(b0, snapshot());
    double pendingWindowMs = (System.nanoTime() - p0) / 1e6;
    int deliveredP = seen.size();
    sp.close();

    StringBuilder md = new StringBuilder("### Phase 7 — cost per delivered message\n\n");
    md.append(String.format("Counted by the relay itself: the sum of `relay_firestore_reads_total`, "
        + "`relay_firestore_writes_total` and `relay_pubsub_publishes_total` over send, route, node 1 and node 2, "
        + "scraped before and after. The idle background (node heartbeats and leases) was measured over %d s "
        + "right before and is subtracted in proportion to each window's length. Connected: %d messages at %d/s to a "
        + "user with one socket on node 1 (window %.1f s). Pending: %d messages at %d/s to a user with no socket, "
        + "wait until all parked, connect, receive, keep the socket %d s so the router's nacked copies come back "
        + "and settle (window %.1f s); copies retried later than that are not counted. "
        + "Runs first, on a quiet stack, so the idle background holds no retries left by other phases. "
        + "One run each (no spread yet).%n%n",
        bgWindowMs / 1000, n, rate, connectedWindowMs / 1000, np, rate, settle, pendingWindowMs / 1000));
    md.append("| user | delivered | Firestore reads / msg, net (raw) | Firestore writes / msg, net (raw) |"
        + " Pub/Sub publishes / msg, net (raw) |"
        + " reads by part (send/route/node1/node2), raw | writes by part, raw | background per 10 s (r/w/p) |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    md.append(costRow("connected", deliveredC, connected, bg, connectedWindowMs / bgWindowMs));
    md.append(costRow("pending", deliveredP, pendingD, bg, pendingWindowMs / bgWindowMs));
    md.append(String.format("%nPending socket received %d frames for %d distinct messages.%n%n", frames.get(),
        deliveredP));
    return md.toString();
  }

  private static String costRow(String label, int delivered, Map<String, Map<String, Double>> d,
      Map<String, Map<String, Double>> bg, double bgScale) {
    String[] per = new String[3];
    for (int i = 0; i < 3; i++) {
      String name = COST_METRICS[i];
      double raw = total(d.get(name));
      double background = total(bg.get(name)) * bgScale;
      per[i] = delivered == 0 ? "n/a" : Stats.fmt(Math.max(0, raw - background) / delivered, 2)
          + " (" + Stats.fmt(raw / delivered, 2) + ")";
    }
    return String.format("| %s | %d | %s | %s | %s | %s | %s | %s/%s/%s |%n", label, delivered, per[0],
        per[1], per[2], parts(d.get(COST_METRICS[0])), parts(d.get(COST_METRICS[1])),
        Stats.fmt(total(bg.get(COST_METRICS[0])), 0), Stats.fmt(total(bg.get(COST_METRICS[1])), 0),
        Stats.fmt(total(bg.get(COST_METRICS[2])), 0));
  }

  private static String parts(Map<String, Double> m) {
    StringBuilder b = new StringBuilder();
    for (double v : m.values()) {
      if (b.length() > 0) {
        b.append('/');
      }
      b.append(Stats.fmt(v, 0));
    }
    return b.toString();
  }

  // ---------------------------------------------------------------- phase 6: cold start

  String coldStart() throws Exception {
    int runs = envInt("COLD_RUNS", 5);
    int port = envInt("COLD_PORT", 18099);
    String cp = env("NODE_CP", "");
    if (cp.isEmpty()) {
      throw new IllegalStateException("NODE_CP is not set");
    }
    Path logDir = out.resolve("coldstart-logs");
    Files.createDirectories(logDir);
    StringBuilder md = new StringBuilder("### Phase 6 — cold start of a socket node\n\n");
    md.append(String.format("Process start (just before `ProcessBuilder.start`) to the first `200` from `/readyz`, "
        + "polled every 10 ms; a new node id each run (so each run makes its own deliveries subscription and "
        + "registry entry, as a fresh Cloud Run instance does), against the running emulators; the node is then "
        + "stopped with SIGTERM. Default JVM flags, no class-data-sharing archive of our own. %d runs per JVM. "
        + "Milliseconds.%n%n", runs));
    md.append("| JVM | median ms (min–max) | runs |\n| --- | --- | --- |\n");
    for (String spec : env("COLD_JAVAS", "java17=java").split(",")) {
      String[] kv = spec.split("=", 2);
      List<Double> times = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        String nodeId = "cold-" + kv[0] + "-" + runId + "-" + i;
        ProcessBuilder pb = new ProcessBuilder(kv[1], "-cp", cp, "dev.pushrelay.node.SocketNodeMain");
        pb.environment().put("PORT", Integer.toString(port));
        pb.environment().put("RELAY_NODE_ID", nodeId);
        pb.environment().put("RELAY_LOCAL_MODE", "true");
        pb.environment().put("RELAY_SEND_URL", sendUrl);
        pb.redirectErrorStream(true).redirectOutput(logDir.resolve(nodeId + ".log").toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        long t1 = 0;
        try {
          long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
          HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
              .timeout(Duration.ofMillis(500)).GET().build();
          while (System.nanoTime() < deadline && p.isAlive()) {
            try {
              if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                t1 = System.nanoTime();
                break;
              }
            } catch (java.io.IOException notYet) {
              // not listening yet
            }
            Thread.sleep(10);
          }
        } finally {
          p.destroy();
          if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
          }
        }
        if (t1 == 0) {
          throw new IllegalStateException(nodeId + " not ready; see " + logDir.resolve(nodeId + ".log"));
        }
        double ms = (t1 - t0) / 1e6;
        times.add(ms);
        System.err.printf("cold start %s run %d: %.0f ms%n", kv[0], i, ms);
      }
      md.append(String.format("| %s (`%s`) | %s | %s |%n", kv[0], kv[1], Stats.medianSpread(times, 0),
          times.stream().map(t -> Stats.fmt(t, 0)).toList()));
    }
    md.append('\n');
    return md.toString();
  }
}
