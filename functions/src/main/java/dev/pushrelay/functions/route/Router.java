package dev.pushrelay.functions.route;

import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.SendRequest;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes one request from the retry subscription: to every live node that holds the user, or back
 * to Pub/Sub for a retry when nobody does. Invalid and expired requests go to the dead-letter topic.
 */
public final class Router {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);

  private final RegistryStore registry;
  private final RelayPublisher publisher;
  private final Topology topology;
  private final Clock clock;

  public Router(RegistryStore registry, RelayPublisher publisher, Topology topology, Clock clock) {
    this.registry = registry;
    this.publisher = publisher;
    this.topology = topology;
    this.clock = clock;
  }

  public CompletableFuture<RouteOutcome> route(PushEnvelope envelope) {
    SendRequest request;
    try {
      request = SendRequest.parse(envelope.data());
    } catch (InvalidRequestException e) {
      String detail = e.field() + ": " + e.getMessage();
      LOG.warn("dead-lettering pubsub message {}: invalid ({})", envelope.messageId(), detail);
      return publisher.deadLetter(new String(envelope.data(), StandardCharsets.UTF_8), envelope.attributes(),
              DeadLetterReason.INVALID, detail)
          .thenApply(id -> RouteOutcome.DEAD_LETTERED_INVALID);
    }
    Instant now = clock.instant();
    // A request without an id takes the Pub/Sub message id: stable across every retry of it.
    List<RelayMessage> messages = new SendRequest(request.userIds(), request.fanOut(), request.event(),
        request.dataJson(), request.id().or(() -> java.util.Optional.of(envelope.messageId())),
        request.ttlSeconds(), request.priority(), request.sentAt().or(() -> java.util.Optional.of(envelope.publishTime())))
        .toMessages(() -> envelope.messageId(), now, topology.defaultTtlSeconds());
    if (request.fanOut()) {
      CompletableFuture<?>[] each = messages.stream()
          .map(m -> publisher.request(m, Map.of()))
          .toArray(CompletableFuture[]::new);
      return CompletableFuture.allOf(each).thenApply(v -> RouteOutcome.FANNED_OUT);
    }
    RelayMessage message = messages.get(0);
    if (message.expiredAt(now)) {
      LOG.info("dead-lettering message {}: expired", message.id());
      return publisher.deadLetter(message.toJson(), envelope.attributes(), DeadLetterReason.EXPIRED,
              "ttl ran out at " + message.expiresAt())
          .thenApply(id -> RouteOutcome.DEAD_LETTERED_EXPIRED);
    }
    return registry.liveNodesHolding(message.userId(), now).thenCompose(nodes -> deliver(message, nodes));
  }

  private CompletableFuture<RouteOutcome> deliver(RelayMessage message, Set<String> nodes) {
    if (nodes.isEmpty()) {
      return CompletableFuture.completedFuture(RouteOutcome.PENDING);
    }
    CompletableFuture<?>[] each = nodes.stream()
        .map(node -> publisher.delivery(node, message))
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(each).thenApply(v -> RouteOutcome.ROUTED);
  }

  static String attribute(Map<String, String> attributes) {
    return attributes.getOrDefault(MessageAttributes.MESSAGE_ID, "");
  }
}
