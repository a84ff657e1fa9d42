package dev.pushrelay.functions.route;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.SendRequest;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes one request from the retry subscription: to every live node that holds the user; else it
 * parks the message in the user's mailbox and asks Pub/Sub to retry; on the last attempt it
 * dead-letters it. Invalid and expired requests go to the dead-letter topic at once.
 */
public final class Router {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);

  private final LiveRoute live;
  private final Mailbox mailbox;
  private final RelayPublisher publisher;
  private final Topology topology;
  private final Clock clock;
  private final RelayMetrics metrics;
  private final AttemptCounter attempts = new AttemptCounter(100_000);

  public Router(RegistryStore registry, Mailbox mailbox, RelayPublisher publisher, Topology topology, Clock clock,
      RelayMetrics metrics) {
    this.metrics = metrics;
    this.live = new LiveRoute(registry, publisher, clock);
    this.mailbox = mailbox;
    this.publisher = publisher;
    this.topology = topology;
    this.clock = clock;
  }

  public CompletableFuture<RouteOutcome> route(PushEnvelope envelope) {
    metrics.pubsubDelivered("router"); // each push is one billed delivery, retries included
    SendRequest request;
    try {
      request = SendRequest.parse(envelope.data());
      if (request.tooManyCopies()) {
        throw new InvalidRequestException("userIds", "the fan-out's copies pass " + Limits.MAX_FANOUT_COPY_BYTES
            + " bytes (recipients x data)");
      }
    } catch (InvalidRequestException e) {
      String detail = e.field() + ": " + e.getMessage();
      try (var log = MessageTracing.logContext(envelope.attributes())) {
        LOG.warn("dead letter: pubsub message {} is invalid ({})", envelope.messageId(), detail);
      }
      return publisher.deadLetter(new String(envelope.data(), StandardCharsets.UTF_8), envelope.attributes(),
              DeadLetterReason.INVALID, detail)
          .thenApply(id -> deadLettered(DeadLetterReason.INVALID, RouteOutcome.DEAD_LETTERED_INVALID));
    }
    Instant now = clock.instant();
    // A request without id or sentAt takes the Pub/Sub message's: stable across every retry of it.
    List<RelayMessage> messages = new SendRequest(request.userIds(), request.fanOut(), request.event(),
        request.dataJson(), request.id().or(() -> Optional.of(envelope.messageId())), request.ttlSeconds(),
        request.priority(), request.sentAt().or(() -> Optional.of(envelope.publishTime())))
        .toMessages(envelope::messageId, now, topology.defaultTtlSeconds());
    if (request.fanOut()) {
      CompletableFuture<?>[] each = messages.stream()
          .map(m -> publisher.request(m.withTrace(MessageTracing.carried(envelope.attributes())), Map.of()))
          .toArray(CompletableFuture[]::new);
      return CompletableFuture.allOf(each).thenApply(v -> RouteOutcome.FANNED_OUT);
    }
    // the request's trace context rides on the message: parked with it, delivered under it
    RelayMessage message = messages.get(0).withTrace(MessageTracing.carried(envelope.attributes()));
    int attempt = attempts.next(envelope.messageId(), envelope.deliveryAttempt());
    if (message.expiredAt(now)) {
      try (var log = MessageTracing.logContext(envelope.attributes())) {
        LOG.info("dead letter: message {} for user {} expired", message.id(), Pseudonyms.user(message.userId()));
      }
      return publisher.deadLetter(message.toJson(), envelope.attributes(), DeadLetterReason.EXPIRED,
              "ttl ran out at " + message.expiresAt())
          .thenCompose(id -> mailbox.discard(message.userId(), message.id()))
          .thenApply(v -> deadLettered(DeadLetterReason.EXPIRED, RouteOutcome.DEAD_LETTERED_EXPIRED));
    }
    boolean exact = envelope.deliveryAttempt().isPresent();
    if (attempt == 1 && "true".equals(envelope.attributes().get(MessageAttributes.PARKED))) {
      // its sender parked it a moment ago: no mailbox read, only the look for a socket that came since
      metrics.parked();
      return lookAgain(message, attempt, MessageAttributes.reroutes(envelope.attributes()));
    }
    if (attempt > 1 || "true".equals(envelope.attributes().get(MessageAttributes.NO_LIVE_NODE))) {
      // A retry: its mailbox entry says first whether a socket's catch-up already wrote it, which
      // settles it with one read instead of a registry read, a second delivery and a mark. A request
      // whose sender found no live node (and parked it already) or whose socket closed unacked is
      // parked at once too: a socket that came meanwhile has it from the mailbox.
      return park(message, envelope, attempt, exact);
    }
    return live.liveNodesShared(message.userId()).thenCompose(nodes -> nodes.isEmpty()
        ? park(message, envelope, attempt, exact)
        : deliver(message, nodes, false, attempt, Map.of()));
  }

  private CompletableFuture<RouteOutcome> park(RelayMessage message, PushEnvelope envelope, int attempt,
      boolean exact) {
    int max = topology.retryFor(envelope.subscription(), message.priority()).maxDeliveryAttempts();
    return mailbox.park(message, attempt, exact, max, clock.instant()).thenCompose(outcome -> switch (outcome) {
      case ALREADY_DELIVERED -> {
        metrics.routeAttempts(attempt); // settled by a socket's mailbox catch-up
        yield CompletableFuture.completedFuture(RouteOutcome.ALREADY_DELIVERED);
      }
      // a socket's catch-up is writing it: the next retry finds it settled, with no second copy
      case CLAIMED -> CompletableFuture.completedFuture(RouteOutcome.PENDING);
      // its user's sockets took it too often without an ack, and a node dead-lettered it: no second one;
      // unless an operator replayed it, which starts it afresh, without its tombstone or its hand-back count
      case ALREADY_DEAD_LETTERED -> envelope.attributes().containsKey(MessageAttributes.REPLAYED_REASON)
          ? mailbox.discard(message.userId(), message.id()).thenCompose(v -> park(message, envelope, attempt, exact))
          : CompletableFuture.completedFuture(RouteOutcome.ALREADY_DEAD_LETTERED);
      case FINAL -> {
        try (var log = MessageTracing.logContext(envelope.attributes())) {
          LOG.warn("dead letter: message {} for user {} found no connection in {} attempts", message.id(),
              Pseudonyms.user(message.userId()), max);
        }
        yield publisher.deadLetter(message.toJson(), envelope.attributes(),
                DeadLetterReason.NO_CONNECTION_AFTER_RETRIES, "no connection in " + max + " attempts")
            .thenApply(id -> deadLettered(DeadLetterReason.NO_CONNECTION_AFTER_RETRIES,
                RouteOutcome.DEAD_LETTERED_NO_CONNECTION));
      }
      case PARKED, STILL_PARKED -> {
        if (outcome == ParkOutcome.PARKED) {
          metrics.parked(); // counted once per message, when its entry is made
        }
        yield lookAgain(message, attempt, MessageAttributes.reroutes(envelope.attributes()));
      }
    });
  }

  /**
   * A parked message looks for a socket that came since. At its first attempt a socket found gets it
   * live, but the entry stays: that socket's catch-up may have it too, in accept order (the live copy
   * is then a repeat the socket drops), and the retry settles the entry. At a later attempt it is routed
   * and its entry, if still pending, is marked routed (a catch-up under way shares it; one that took it
   * meanwhile leaves its tombstone). Past
   * {@link MessageAttributes#MAX_REROUTES} (sockets that closed on it unacked)
   * it is not sent round again: it waits for the user's next connect, or for its last attempt's dead
   * letter.
   */
  private CompletableFuture<RouteOutcome> lookAgain(RelayMessage message, int attempt, int reroutes) {
    if (reroutes >= MessageAttributes.MAX_REROUTES) {
      return CompletableFuture.completedFuture(RouteOutcome.PENDING);
    }
    // the delivery says how often the message went round already, so that the node counts on from there
    Map<String, String> carried = reroutes > 0 ? Map.of(MessageAttributes.REROUTES, Integer.toString(reroutes))
        : Map.of();
    return live.liveNodes(message.userId()).thenCompose(nodes -> {
      if (nodes.isEmpty()) {
        return CompletableFuture.completedFuture(RouteOutcome.PENDING);
      }
      return attempt == 1
          ? deliver(message, nodes, false, attempt, carried).thenApply(routed -> RouteOutcome.PENDING)
          : deliver(message, nodes, true, attempt, carried);
    });
  }

  private CompletableFuture<RouteOutcome> deliver(RelayMessage message, Set<String> nodes, boolean mayBeParked,
      int attempt, Map<String, String> extraAttributes) {
    LOG.debug("message {} for user {} goes to nodes {}", message.id(), Pseudonyms.user(message.userId()), nodes);
    CompletableFuture<Void> published = live.deliver(nodes, message, extraAttributes);
    if (mayBeParked) {
      // An earlier attempt parked it: routed now, so no later socket should drain it again, but a catch-up
      // under way shares it in accept order (unless a socket's catch-up took it meanwhile: its tombstone
      // then settles the next retry)
      published = published.thenCompose(v -> mailbox.routedLive(message.userId(), message.id(), clock.instant()));
    }
    return published.thenApply(v -> {
      metrics.routeAttempts(attempt);
      return RouteOutcome.ROUTED;
    });
  }

  private RouteOutcome deadLettered(DeadLetterReason reason, RouteOutcome outcome) {
    metrics.deadLetter(reason);
    return outcome;
  }
}
