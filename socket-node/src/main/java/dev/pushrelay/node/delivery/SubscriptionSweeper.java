package dev.pushrelay.node.delivery;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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
  /** Deliveries pulled and not yet acked, past which the sweep waits before it pulls again. */
  private static final int MAX_IN_FLIGHT = 4 * BATCH;

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
   *
   * <p>Each user's deliveries of a pull are re-routed and acked on their own, and the next pull goes out
   * while they are: an ordered subscription hands a user's next deliveries only after the ack of the ones
   * before, so a sweep that waited for a whole pull's users moved at the pace of its slowest read or
   * publish. One user's groups still go one after another, in pull order.
   */
  public Sweep sweep(String subscription, String nodeId, Duration quiet, Instant deadline) {
    Rerouting rerouting = new Rerouting(subscription, nodeId);
    try {
      if (!broker.seek(subscription, Instant.now().minus(Duration.ofHours(1)))) {
        LOG.info("seek on {} refused; leased messages come back at their deadline", subscription);
      }
      long quietSince = System.nanoTime();
      int batch = BATCH;
      // quiet from the last pull that found something or the last ack, whichever came later: an ack lets
      // its user's next deliveries out
      while (rerouting.busy() || System.nanoTime() - Math.max(quietSince, rerouting.lastEnded()) < quiet.toNanos()) {
        rerouting.throwIfFailed();
        if (!Instant.now().isBefore(deadline)) {
          return new Sweep(rerouting.count(), false);
        }
        long seen = rerouting.changes();
        if (rerouting.full()) {
          rerouting.awaitChange(seen, idlePause);
          continue;
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
          rerouting.awaitChange(seen, idlePause); // a user's next deliveries come once its last ones are acked
          continue;
        }
        rerouting.start(pulled);
        quietSince = System.nanoTime();
      }
      rerouting.throwIfFailed();
      return new Sweep(rerouting.count(), true);
    } catch (DeliveryBroker.GoneException e) {
      return new Sweep(rerouting.count(), true);
    } catch (Exception e) {
      if (e.getCause() instanceof DeliveryBroker.GoneException) {
        return new Sweep(rerouting.count(), true);
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("sweeping {} stopped after {} re-routes: {}", subscription, rerouting.count(), e.toString());
      return new Sweep(rerouting.count(), false);
    }
  }

  /** One delivery of the swept node, and the attributes it came with. */
  private record Swept(RelayMessage message, Map<String, String> delivered) {}

  /**
   * The re-routes of one sweep under way: one chain per user and pull (read the registry, republish, ack),
   * each user's chains one after another. The first that fails stops the sweep, which then does not call
   * the subscription empty; what it held stays unacked and comes back for the next cleanup. Chains still
   * under way when a sweep stops run on (each acks only what it republished), so the count it returns may
   * be short.
   */
  private final class Rerouting {
    private final String subscription;
    private final String nodeId;
    private final Map<String, CompletableFuture<Void>> lastOf = new HashMap<>();
    private final Object lock = new Object();
    private int inFlight;
    private long changes;
    private long lastEnded = System.nanoTime();
    private int count;
    private Throwable failure;

    Rerouting(String subscription, String nodeId) {
      this.subscription = subscription;
      this.nodeId = nodeId;
    }

    /** Starts a chain for each user of {@code pulled}; what is not a message is acked at once. */
    void start(List<DeliveryBroker.Pulled> pulled) {
      Map<String, List<Swept>> byUser = new LinkedHashMap<>();
      Map<String, List<String>> ackIdsOf = new HashMap<>();
      List<String> notMessages = new ArrayList<>();
      for (DeliveryBroker.Pulled r : pulled) {
        Deliveries.parse(r.message(), subscription).ifPresentOrElse(m -> {
          Map<String, String> delivered = r.message().getAttributesMap();
          byUser.computeIfAbsent(m.userId(), u -> new ArrayList<>())
              .add(new Swept(m.withTrace(MessageTracing.carried(delivered)), delivered));
          ackIdsOf.computeIfAbsent(m.userId(), u -> new ArrayList<>()).add(r.ackId());
        }, () -> notMessages.add(r.ackId()));
      }
      if (!notMessages.isEmpty()) {
        track(0, broker.ack(subscription, notMessages));
      }
      byUser.forEach((user, swept) -> {
        CompletableFuture<Void> chain = lastOf.getOrDefault(user, CompletableFuture.completedFuture(null))
            .thenCompose(before -> reroute(user, swept, nodeId)
                .thenCompose(done -> broker.ack(subscription, ackIdsOf.get(user)))
                .orTimeout(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        lastOf.put(user, chain);
        track(swept.size(), chain);
      });
    }

    private void track(int messages, CompletableFuture<Void> chain) {
      synchronized (lock) {
        inFlight += Math.max(messages, 1);
      }
      chain.whenComplete((done, e) -> {
        synchronized (lock) {
          inFlight -= Math.max(messages, 1);
          if (e == null) {
            count += messages;
          } else if (failure == null) {
            failure = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
          }
          changes++;
          lastEnded = System.nanoTime();
          lock.notifyAll();
        }
      });
    }

    boolean busy() {
      synchronized (lock) {
        return inFlight > 0;
      }
    }

    boolean full() {
      synchronized (lock) {
        return inFlight >= MAX_IN_FLIGHT;
      }
    }

    int count() {
      synchronized (lock) {
        return count;
      }
    }

    /** When the last chain ended (its ack done, or failed). */
    long lastEnded() {
      synchronized (lock) {
        return lastEnded;
      }
    }

    long changes() {
      synchronized (lock) {
        return changes;
      }
    }

    /** Waits until a chain ended after {@code seen} changes, or {@code timeout} passed. */
    void awaitChange(long seen, Duration timeout) throws InterruptedException {
      long until = System.nanoTime() + timeout.toNanos();
      synchronized (lock) {
        for (long left = timeout.toNanos(); changes == seen && left > 0; left = until - System.nanoTime()) {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        }
      }
    }

    void throwIfFailed() throws Exception {
      Throwable e;
      synchronized (lock) {
        e = failure;
      }
      if (e instanceof Exception x) {
        throw x;
      } else if (e != null) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** One user's deliveries of one pull, to the live nodes that hold the user now, or parked. */
  private CompletableFuture<Void> reroute(String user, List<Swept> swept, String nodeId) {
    return otherLiveNodes(user, nodeId).thenCompose(nodes -> {
      LOG.debug("sweep of node {} re-routes {} deliveries to {}", nodeId, swept.size(),
          nodes.isEmpty() ? "requests" : nodes);
      return nodes.isEmpty() ? park(swept, nodeId) : live(swept, nodes, nodeId);
    });
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
