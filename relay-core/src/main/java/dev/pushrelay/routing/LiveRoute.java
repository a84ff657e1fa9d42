package dev.pushrelay.routing;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
  /** The registry reads under way, by user: routes of one user that overlap share one read. */
  private final Map<String, List<CompletableFuture<Set<String>>>> reading = new ConcurrentHashMap<>();

  public LiveRoute(RegistryStore registry, RelayPublisher publisher, Clock clock) {
    this.registry = registry;
    this.publisher = publisher;
    this.clock = clock;
  }

  /**
   * The live nodes holding a socket of the user; fails after {@link #LOOKUP_TIMEOUT}. A route that comes
   * while a read of the same user is under way takes that read's answer instead of a read of its own: a
   * burst of one user's messages (a stream, a retried backlog) costs one read, not one each. Its answer is
   * then as old as a read started a moment before the route, which the registry's readers accept anyway
   * (a read is never in step with a socket that registers meanwhile). A route that starts after a read
   * answered reads again, so a sender's sequential sends never share one. The routes that share a read
   * get its answer in the order they came.
   */
  public CompletableFuture<Set<String>> liveNodes(String userId) {
    CompletableFuture<Set<String>> mine = new CompletableFuture<>();
    boolean[] first = {false};
    reading.compute(userId, (user, waiting) -> {
      List<CompletableFuture<Set<String>>> all = waiting == null ? new ArrayList<>() : waiting;
      first[0] = waiting == null;
      all.add(mine);
      return all;
    });
    if (first[0]) {
      read(userId);
    }
    return mine;
  }

  /** One registry read of {@code userId}, answered to every route that waits for it. */
  private void read(String userId) {
    CompletableFuture<Set<String>> read;
    try {
      read = registry.liveNodesHolding(userId, clock.instant());
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e); // never left under way: the next route would wait on it
    }
    read.orTimeout(LOOKUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).whenComplete((nodes, failed) -> {
      // out of the map before anyone sees the answer: whoever comes after it reads again
      List<CompletableFuture<Set<String>>> waiting = reading.remove(userId);
      Set<String> answer = failed == null ? Set.copyOf(nodes) : null;
      for (CompletableFuture<Set<String>> route : waiting) {
        if (failed != null) {
          route.completeExceptionally(failed);
        } else {
          route.complete(answer);
        }
      }
    });
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
  public CompletableFuture<Void> deliverAll(Set<String> nodes, List<RelayMessage> ms,
      java.util.function.Function<RelayMessage, Map<String, String>> extraAttributes) {
    return CompletableFuture.allOf(nodes.stream().map(node -> publisher.deliveries(node, ms, extraAttributes))
        .toArray(CompletableFuture[]::new));
  }
}
