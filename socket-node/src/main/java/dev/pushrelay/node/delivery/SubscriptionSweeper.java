package dev.pushrelay.node.delivery;

import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties a node's delivery subscription before it is deleted: every delivery in it goes back to
 * {@code relay-requests} to be routed again, and is acked only once republished. Used by the crash
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
  private final Duration idlePause;

  public SubscriptionSweeper(DeliveryBroker broker, BackToRequests backToRequests) {
    this(broker, backToRequests, IDLE_PAUSE);
  }

  /** {@code idlePause}: between two pulls that found nothing. */
  SubscriptionSweeper(DeliveryBroker broker, BackToRequests backToRequests, Duration idlePause) {
    this.broker = broker;
    this.backToRequests = backToRequests;
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
      while (System.nanoTime() - quietSince < quiet.toNanos()) {
        if (!Instant.now().isBefore(deadline)) {
          return new Sweep(rerouted, false);
        }
        List<DeliveryBroker.Pulled> pulled = broker.pullNow(subscription, BATCH);
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

  private int reroute(String subscription, String nodeId, List<DeliveryBroker.Pulled> pulled) throws Exception {
    List<String> ackIds = new ArrayList<>();
    List<CompletableFuture<Void>> republished = new ArrayList<>();
    for (DeliveryBroker.Pulled r : pulled) {
      ackIds.add(r.ackId());
      Deliveries.parse(r.message(), subscription).ifPresent(m -> {
        LOG.debug("sweep of {} re-routes message {}", subscription, m.id());
        Map<String, String> delivered = r.message().getAttributesMap();
        republished.add(backToRequests.send(m.withTrace(MessageTracing.carried(delivered)), nodeId, delivered));
      });
    }
    CompletableFuture.allOf(republished.toArray(CompletableFuture[]::new))
        .get(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    broker.ack(subscription, ackIds).get(REPUBLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    return republished.size();
  }
}
