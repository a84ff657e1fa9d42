package dev.pushrelay.node.delivery;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties a node's delivery subscription before it is deleted: every delivery in it is routed again, and
 * is acked only once republished. A user who holds a socket on a live node by now (back after a crash)
 * gets the deliveries on that node's topic at once, one registry read per user and batch; the rest are
 * parked and go back to {@code relay-requests}. A crashed node's backlog is thousands of messages a
 * minute: parked one by one and routed again through the retry's backoff, it reached its returning users
 * minutes late; a user who is back already needs neither. Used by the crash
 * cleanup on a lapsed, fenced or drained node's subscription, after its topic was deleted, so nothing
 * new can arrive. The sweep has no bound of its own, only the caller's deadline, and it calls the
 * subscription empty only after it found nothing for a whole quiet period that is longer than the ack
 * deadline: a message leased to a puller that died or gave up (a cancelled pull, a killed node) is
 * invisible until its lease runs out, so only a quiet period that long proves that none is left. A
 * sweep that did not end empty says so, and the caller keeps the subscription.
 */
public final class SubscriptionSweeper {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionSweeper.class);
  private static final int BATCH = 500;
  /** Between two pulls that found nothing. */
  private static final Duration IDLE_PAUSE = Duration.ofMillis(250);
  private static final Duration REPUBLISH_TIMEOUT = Duration.ofSeconds(10);

  /** What a sweep did: how many deliveries it re-routed, and whether it left the subscription empty. */
  public record Sweep(int rerouted, boolean empty) {}

  private final DeliveryBroker broker;
  private final BackToRequests backToRequests;
  private final LiveRoute live;
  private final Duration idlePause;

  public SubscriptionSweeper(DeliveryBroker broker, BackToRequests backToRequests, LiveRoute live) {
    this(broker, backToRequests, live, IDLE_PAUSE);
  }

  /** {@code idlePause}: between two pulls that found nothing. */
  SubscriptionSweeper(DeliveryBroker broker, BackToRequests backToRequests, LiveRoute live, Duration idlePause) {
    this.broker = broker;
    this.backToRequests = backToRequests;
    this.live = live;
    this.idlePause = idlePause;
  }

  /**
   * Re-routes what is left in the subscription, until nothing has come for {@code quiet} or
   * {@code deadline} passes. It first seeks the subscription back an hour, which makes unacked
   * messages deliverable at once where the service honours that for leased ones; the quiet period
   * covers the rest. Pulls return at once (no waiting pull to cancel, which would lease messages to
   * nobody). A subscription that does not exist is empty.
   */
  public Sweep sweep(String subscription, String nodeId, Duration quiet, Instant deadline) {
    int rerouted = 0;
    try {
      if (!broker.seek(subscription, Instant.now().minus(Duration.ofHours(1)))) {
        LOG.info("seek on {} refused; leased messages come back at their deadline", subscription);
      }
      long quietSince = System.nanoTime();
      int batch = BATCH;
      while (System.nanoTime() - quietSince < quiet.toNanos()) {
        if (!Instant.now().isBefore(deadline)) {
          return new Sweep(rerouted, false);
        }
        List<DeliveryBroker.Pulled> pulled;
        try {
          pulled = broker.pullNow(subscription, batch);
        } catch (RuntimeException e) {
          if (!PullLoop.isTooLarge(e) || batch == 1) {
            throw e;
          }
          // the answer passed what the channel takes (large messages): a quarter as many, as the pull loop does
          batch = PullLoop.fewerAfterTooLarge(batch);
          quietSince = System.nanoTime(); // what that answer held may be leased until its deadline: wait it out
          LOG.info("sweeping {}: an answer was too large, pulling {} at a time", subscription, batch);
          continue;
        }
        if (pulled.isEmpty()) {
          TimeUnit.MILLISECONDS.sleep(idlePause.toMillis());
          continue;
        }
        rerouted += reroute(subscription, nodeId, pulled);
        quietSince = System.nanoTime();
      }
      return new Sweep(rerouted, true);
    } catch (DeliveryBroker.GoneException e) {
      return new Sweep(rerouted, true);
    } catch (Exception e) {
      if (e.getCause() instanceof DeliveryBroker.GoneException) {
        return new Sweep(rerouted, true);
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("sweeping {} stopped after {} re-routes: {}", subscription, rerouted, e.toString());
      return new Sweep(rerouted, false);
    }
  }

  /** One delivery of the swept node, and the attributes it came with. */
  private record Swept(RelayMessage message, Map<String, String> delivered) {}

  private int reroute(String subscription, String nodeId, List<DeliveryBroker.Pulled> pulled) throws Exception {
    List<String> ackIds = new ArrayList<>();
    Map<String, List<Swept>> byUser = new LinkedHashMap<>();
    for (DeliveryBroker.Pulled r : pulled) {
      ackIds.add(r.ackId());
      Deliveries.parse(r.message(), subscription).ifPresent(m -> {
        Map<String, String> delivered = r.message().getAttributesMap();
        byUser.computeIfAbsent(m.userId(), u -> new ArrayList<>())
            .add(new Swept(m.withTrace(MessageTracing.carried(delivered)), delivered));
      });
    }
    Map<String, CompletableFuture<Set<String>>> nodesOf = new LinkedHashMap<>();
    byUser.keySet().forEach(user -> nodesOf.put(user, otherLiveNodes(user, nodeId)));
    CompletableFuture.allOf(nodesOf.values().toArray(CompletableFuture[]::new))
        .get(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    List<CompletableFuture<Void>> republished = new ArrayList<>();
    List<Swept> away = new ArrayList<>();
    byUser.forEach((user, swept) -> {
      Set<String> nodes = nodesOf.get(user).join();
      LOG.debug("sweep of node {} re-routes {} deliveries to {}", nodeId, swept.size(),
          nodes.isEmpty() ? "requests" : nodes);
      if (nodes.isEmpty()) {
        away.addAll(swept);
      } else {
        republished.add(live(swept, nodes, nodeId));
      }
    });
    if (!away.isEmpty()) {
      republished.add(park(away, nodeId));
    }
    CompletableFuture.allOf(republished.toArray(CompletableFuture[]::new))
        .get(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    broker.ack(subscription, ackIds).get(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    return byUser.values().stream().mapToInt(List::size).sum();
  }

  /** The live nodes that hold {@code user} now, the swept node aside; none when the registry fails. */
  private CompletableFuture<Set<String>> otherLiveNodes(String user, String nodeId) {
    return live.liveNodes(user).handle((nodes, e) -> {
      Set<String> others = e == null ? new HashSet<>(nodes) : new HashSet<>();
      others.remove(nodeId);
      return others;
    });
  }

  /**
   * One user's swept deliveries, in the order they were pulled, to the live {@code nodes} that hold the
   * user (never the swept node), all in one publish call per node, so that they land in that order. A
   * live publish that fails (the node left meanwhile and its topic is gone) sends them the parked way,
   * rather than failing the whole sweep.
   */
  private CompletableFuture<Void> live(List<Swept> swept, Set<String> nodes, String nodeId) {
    return backToRequests.sendAllLive(live, nodes, messages(swept), nodeId, attributes(swept))
        .exceptionallyCompose(failed -> {
          LOG.info("sweep of node {}: a live re-route failed ({}), parking the user's deliveries", nodeId,
              failed.toString());
          return park(swept, nodeId);
        });
  }

  /**
   * Swept deliveries whose users hold no socket on a live node (or whose registry did not answer in
   * time): parked, their entries written together, and back to requests. The mailbox keeps each user's
   * order.
   */
  private CompletableFuture<Void> park(List<Swept> swept, String nodeId) {
    return backToRequests.sendAll(messages(swept), nodeId, attributes(swept));
  }

  private static List<RelayMessage> messages(List<Swept> swept) {
    return swept.stream().map(Swept::message).toList();
  }

  /** The attributes each swept message was delivered with. */
  private static Function<RelayMessage, Map<String, String>> attributes(List<Swept> swept) {
    Map<RelayMessage, Map<String, String>> delivered = new IdentityHashMap<>();
    swept.forEach(s -> delivered.put(s.message(), s.delivered()));
    return delivered::get;
  }
}
