package dev.pushrelay.routing;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The live route of one message, as the send function's direct route and the route function both take
 * it: which live nodes hold the user (a bounded registry read), then one delivery per node, on each
 * node's own topic.
 */
public final class LiveRoute {
  /**
   * How long a route waits for the registry before it gives up on it; a draining node sweeps its
   * subscription for longer than this after leaving the registry, so no route that read it before can
   * publish to it after.
   */
  public static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(2);

  private final RegistryStore registry;
  private final RelayPublisher publisher;
  private final Clock clock;

  public LiveRoute(RegistryStore registry, RelayPublisher publisher, Clock clock) {
    this.registry = registry;
    this.publisher = publisher;
    this.clock = clock;
  }

  /** The live nodes holding a socket of the user; fails after {@link #LOOKUP_TIMEOUT}. */
  public CompletableFuture<Set<String>> liveNodes(String userId) {
    return registry.liveNodesHolding(userId, clock.instant()).orTimeout(LOOKUP_TIMEOUT.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** One delivery to each node; completes once Pub/Sub took them all, fails if any was refused. */
  public CompletableFuture<Void> deliver(Set<String> nodes, RelayMessage m, Map<String, String> extraAttributes) {
    return CompletableFuture.allOf(nodes.stream().map(node -> publisher.delivery(node, m, extraAttributes))
        .toArray(CompletableFuture[]::new));
  }

  /**
   * Several deliveries of one user to each node, in this order, one publish call per node and 100
   * messages; {@code extraAttributes} gives each its own. Completes once Pub/Sub took them all.
   */
  public CompletableFuture<Void> deliverAll(Set<String> nodes, java.util.List<RelayMessage> ms,
      java.util.function.Function<RelayMessage, Map<String, String>> extraAttributes) {
    return CompletableFuture.allOf(nodes.stream().map(node -> publisher.deliveries(node, ms, extraAttributes))
        .toArray(CompletableFuture[]::new));
  }
}
