package dev.pushrelay.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The relay's own cost counters (Firestore reads and writes, Pub/Sub publishes and deliveries), per
 * part of the stack, as scraped from each part's {@code /metrics}. Each part receives on one
 * subscription (the route function on the retry subscription, each node on its own), so deliveries
 * by part are deliveries by subscription.
 */
final class CostCounters {
  static final String[] METRICS = {"relay_firestore_reads_total", "relay_firestore_writes_total",
      "relay_pubsub_publishes_total", "relay_pubsub_deliveries_total"};
  static final String[] LABELS = {"Firestore reads", "Firestore writes", "Pub/Sub publishes", "Pub/Sub deliveries"};

  /** metric -> part -> value. */
  private final Map<String, Map<String, Double>> values;

  private CostCounters(Map<String, Map<String, Double>> values) {
    this.values = values;
  }

  static CostCounters scrape(StackClient stack) throws Exception {
    BenchContext ctx = stack.context();
    Map<String, String> parts = new LinkedHashMap<>();
    parts.put("send", ctx.sendUrl());
    parts.put("route", ctx.routeUrl());
    parts.put("node1", ctx.node1Url());
    parts.put("node2", ctx.node2Url());
    Map<String, Map<String, Double>> s = new LinkedHashMap<>();
    for (var p : parts.entrySet()) {
      Map<String, Double> m = stack.scrape(p.getValue());
      for (String name : METRICS) {
        s.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(p.getKey(), m.getOrDefault(name, 0.0));
      }
    }
    return new CostCounters(s);
  }

  /** What moved between {@code before} and this snapshot. */
  CostCounters since(CostCounters before) {
    Map<String, Map<String, Double>> d = new LinkedHashMap<>();
    for (var e : values.entrySet()) {
      for (var p : e.getValue().entrySet()) {
        double was = before.values.getOrDefault(e.getKey(), Map.of()).getOrDefault(p.getKey(), 0.0);
        d.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(p.getKey(), p.getValue() - was);
      }
    }
    return new CostCounters(d);
  }

  /** Metric {@code i} of {@link #METRICS}, summed over the parts. */
  double total(int i) {
    return values.getOrDefault(METRICS[i], Map.of()).values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /** Metric {@code i} on one part (send, route, node1, node2). */
  double part(int i, String part) {
    return values.getOrDefault(METRICS[i], Map.of()).getOrDefault(part, 0.0);
  }

  /** Metric {@code i} per part, "send/route/node1/node2". */
  String byPart(int i) {
    StringBuilder b = new StringBuilder();
    for (double v : values.getOrDefault(METRICS[i], Map.of()).values()) {
      b.append(b.length() > 0 ? "/" : "").append(Stats.fmt(v, 0));
    }
    return b.toString();
  }
}
