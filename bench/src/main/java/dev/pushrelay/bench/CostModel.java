package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * docs/COST.md from the operations phase 7 counted per delivered message ({@code cost.json}) and the
 * published prices ({@code docs/prices.json}, each with its source and the day it was read). Run by
 * {@code scripts/cost.sh}.
 *
 * <p>The model: every Pub/Sub publish and every delivery is billed as throughput, at least 1,000 bytes
 * each, so a 1 KB message costs one billing unit per publish and per delivery. Firestore bills each
 * document read and write. In the relay's design each node incarnation has a delivery topic of its own,
 * so a message causes the same publishes and deliveries whatever the fleet's size. In the design it
 * replaced (one delivery topic, one filtered subscription per node) every delivery publish was billed
 * once per node, since Pub/Sub bills the deliveries a filter drops: the node deliveries measured here
 * are multiplied by the node count.
 */
public final class CostModel {
  private static final List<Integer> NODE_COUNTS = List.of(1, 10, 100, 1000);
  private static final double MESSAGE_BYTES = 1000;
  private static final double TIB = Math.pow(2, 40);

  /** What one delivered message costs in operations, from cost.json. */
  record Operations(double reads, double writes, double publishes, double routerDeliveries, double nodeDeliveries,
      double functionRequests, JsonNode byPart) {
    static Operations of(JsonNode n) {
      return new Operations(n.path("firestoreReads").asDouble(), n.path("firestoreWrites").asDouble(),
          n.path("pubsubPublishes").asDouble(), n.path("pubsubDeliveriesRouter").asDouble(),
          n.path("pubsubDeliveriesNodes").asDouble(), n.path("functionRequests").asDouble(), n.path("byPart"));
    }
  }

  /** The prices this model uses, by key, from docs/prices.json. */
  record Prices(Map<String, Double> values, Map<String, String> sources, String readOn) {
    static Prices of(JsonNode root) {
      Map<String, Double> values = new LinkedHashMap<>();
      Map<String, String> sources = new LinkedHashMap<>();
      for (JsonNode p : root.path("prices")) {
        values.put(p.path("key").asText(), p.path("value").asDouble());
        sources.put(p.path("key").asText(), p.path("source").asText());
      }
      return new Prices(values, sources, root.path("read_on").asText());
    }

    double get(String key) {
      Double v = values.get(key);
      if (v == null) {
        throw new IllegalArgumentException("docs/prices.json has no price " + key);
      }
      return v;
    }
  }

  private final Prices prices;

  CostModel(Prices prices) {
    this.prices = prices;
  }

  /** USD per million delivered messages, for a fleet of {@code nodes}; {@code perNodeTopics} is today's design. */
  double perMillion(Operations o, int nodes, boolean perNodeTopics) {
    return pubsub(o, nodes, perNodeTopics) + firestore(o) + requests(o);
  }

  /** The Pub/Sub part of {@link #perMillion}: publishes and deliveries, 1 KB each. */
  double pubsub(Operations o, int nodes, boolean perNodeTopics) {
    double deliveries = o.routerDeliveries() + o.nodeDeliveries() * (perNodeTopics ? 1 : nodes);
    return (o.publishes() + deliveries) * MESSAGE_BYTES / TIB * prices.get("pubsub_throughput_per_tib") * 1e6;
  }

  /** The Firestore part of {@link #perMillion}. */
  double firestore(Operations o) {
    return (o.reads() * prices.get("firestore_read_per_100k") + o.writes() * prices.get("firestore_write_per_100k"))
        / 1e5 * 1e6;
  }

  /** The functions' request fees in {@link #perMillion}. */
  double requests(Operations o) {
    return o.functionRequests() * prices.get("cloudrun_per_million_requests");
  }

  /** USD per million connection-minutes on Cloud Run, instance-based, at {@code sockets} per instance. */
  double connectionMinutes(int sockets, double vcpu, double gib) {
    double instanceSecond = vcpu * prices.get("cloudrun_instance_vcpu_second")
        + gib * prices.get("cloudrun_instance_gib_second");
    return 1e6 / sockets * 60 * instanceSecond;
  }

  String markdown(Map<String, Operations> kinds, String measuredAt) {
    StringBuilder b = new StringBuilder("# Cost\n\n");
    b.append("Written by `scripts/cost.sh` from the operations `scripts/bench.sh cost` counted on the local stack ")
        .append("(measured ").append(measuredAt).append(") and the prices in `docs/prices.json` (read ")
        .append(prices.readOn()).append("; each with its source). Messages of 1 KB; list prices in USD, before ")
        .append("free tiers; compute time of the functions is not included (their request fee is).\n\n");
    b.append("## Operations per delivered message (phase 7)\n\n");
    b.append("| message | Firestore reads | Firestore writes | Pub/Sub publishes | deliveries: retry subscription "
        + "| deliveries: node subscriptions | function requests |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    kinds.forEach((name, o) -> b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
        name, o.reads(), o.writes(), o.publishes(), o.routerDeliveries(), o.nodeDeliveries(), o.functionRequests())));
    b.append("\n## USD per million delivered messages, by fleet size\n\n");
    b.append("Today's design (a delivery topic per node) against the one it replaced (one topic, a filtered "
        + "subscription per node, each delivery billed once per node).\n\n| message | design |");
    for (int n : NODE_COUNTS) {
      b.append(" ").append(n).append(n == 1 ? " node |" : " nodes |");
    }
    b.append(" API Gateway WebSocket |\n| --- | --- |");
    NODE_COUNTS.forEach(n -> b.append(" ---: |"));
    b.append(" ---: |\n");
    double gateway = prices.get("apigw_ws_per_million_messages");
    kinds.forEach((name, o) -> {
      for (boolean perNode : List.of(true, false)) {
        b.append("| ").append(name).append(" | ").append(perNode ? "per-node topics (today)" : "shared topic (before)")
            .append(" |");
        for (int n : NODE_COUNTS) {
          b.append(String.format(Locale.ROOT, " %.2f |", perMillion(o, n, perNode)));
        }
        b.append(String.format(Locale.ROOT, " %.2f |%n", gateway));
      }
    });
    b.append("\nA fan-out row is per recipient: one request to 100 users costs 100 of its messages.\n\n");
    b.append(String.format(Locale.ROOT, "The one-user sends measured give their own `id`, so their writes include "
        + "the id's record (`409 id_reused`): one write, %.2f USD per million messages, that a send without an id "
        + "does not cost.%n%n", prices.get("firestore_write_per_100k") * 10));
    b.append("## USD per million connection-minutes\n\n| where | sockets per instance | USD |\n| --- | ---: | ---: |\n");
    for (int sockets : List.of(1000, 250)) {
      b.append(String.format(Locale.ROOT, "| Cloud Run, 1 vCPU, 1 GiB, instance-based | %d | %.2f |%n", sockets,
          connectionMinutes(sockets, 1, 1)));
    }
    b.append(String.format(Locale.ROOT, "| API Gateway WebSocket | — | %.2f |%n",
        prices.get("apigw_ws_per_million_connection_minutes")));
    double minInstanceMonth = 30 * 24 * 3600 * (prices.get("cloudrun_instance_vcpu_second")
        + prices.get("cloudrun_instance_gib_second"));
    b.append(String.format(Locale.ROOT, "%nEach minimum instance kept warm (1 vCPU, 1 GiB) costs %.2f USD a month "
        + "whether sockets use it or not.%n", minInstanceMonth));
    b.append("\n## Where each pending message's operations go\n\n");
    Operations pending = kinds.get("pending user");
    b.append("| part | Firestore reads | Firestore writes | what they are |\n| --- | ---: | ---: | --- |\n");
    Map<String, String> what = Map.of(
        "send", "the registry read that finds no socket; the mailbox entry, created before the 202",
        "route", "the first attempt's registry look for a socket that came since; each retry reads the entry (and "
            + "looks at the registry while it still waits); on the emulator a retry also writes its attempt count, "
            + "which Pub/Sub's own deliveryAttempt makes unnecessary in production",
        "node1", "the catch-up's query (every entry of the user, delivered ones included, so another tab's can be "
            + "shared), the claim and the mark as delivered; the second look, which reads only pending and claimed "
            + "entries; its lease renewals meanwhile",
        "node2", "its lease renewals during the window (the user's socket was on node 1)");
    for (String part : List.of("send", "route", "node1", "node2")) {
      JsonNode ops = pending.byPart().path(part);
      b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %s |%n", part, ops.path("firestoreReads").asDouble(),
          ops.path("firestoreWrites").asDouble(), what.get(part)));
    }
    b.append("\n## Where the relay is cheaper, and where it is dearer\n\n");
    Operations connected = kinds.get("connected user");
    b.append(String.format(Locale.ROOT, "Per message the relay is cheaper than API Gateway (%.2f against %.2f USD per "
            + "million for a connected user: %.2f of function requests, %.2f of Firestore for the registry read, "
            + "%.2f of Pub/Sub) and stays so at any fleet size, because a message is published and delivered once "
            + "whatever the node count; the design it replaced paid every delivery once per node and passed API "
            + "Gateway's price at about %d nodes. A user with no socket costs more (%.2f): the mailbox entry is "
            + "written, claimed and settled, and the retry subscription delivers the request again until a socket "
            + "has it. Per connection-minute the relay is dearer: a Cloud Run instance holding 1,000 idle sockets "
            + "costs %.2f USD per million connection-minutes against API Gateway's %.2f, and more when instances run "
            + "below capacity or minimum instances wait for traffic. The relay wins for chatty connections (many "
            + "messages per connected minute) and where users are mostly online; it loses for many idle "
            + "connections and for users who are mostly offline.%n",
        perMillion(connected, 1, true), gateway, requests(connected), firestore(connected),
        pubsub(connected, 1, true), crossover(connected, gateway), perMillion(pending, 1, true),
        connectionMinutes(1000, 1, 1), prices.get("apigw_ws_per_million_connection_minutes")));
    b.append("\n## Prices used\n\n| key | value | source |\n| --- | ---: | --- |\n");
    prices.values().forEach((k, v) -> b.append("| ").append(k).append(" | ").append(v).append(" | ")
        .append(prices.sources().get(k)).append(" |\n"));
    return b.toString();
  }

  /** The smallest fleet at which the replaced design paid more per message than API Gateway. */
  private int crossover(Operations o, double gateway) {
    for (int n = 1; n <= 100_000; n++) {
      if (perMillion(o, n, false) > gateway) {
        return n;
      }
    }
    return -1;
  }

  /** {@code args}: cost.json, prices.json, the markdown to write. */
  public static void main(String[] args) throws Exception {
    JsonNode cost = JsonCodec.mapper().readTree(Files.readString(Path.of(args[0])));
    Prices prices = Prices.of(JsonCodec.mapper().readTree(Files.readString(Path.of(args[1]))));
    Map<String, Operations> kinds = new LinkedHashMap<>();
    kinds.put("connected user", Operations.of(cost.path("connected")));
    kinds.put("pending user", Operations.of(cost.path("pending")));
    kinds.put("fan-out to 100 users, per recipient", Operations.of(cost.path("fanout")));
    String md = new CostModel(prices).markdown(kinds, cost.path("measuredAt").asText());
    Files.writeString(Path.of(args[2]), md);
    System.out.println("wrote " + args[2]);
  }
}
