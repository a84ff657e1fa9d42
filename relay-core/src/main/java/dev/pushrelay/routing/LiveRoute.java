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
   * The live nodes holding a socket of the user, from a read of its own, started now; fails after
   * {@link #LOOKUP_TIMEOUT}. For a route that must see every socket registered before it began: a parked
   * message's look for a socket that came since (the park-then-read that meets a socket's
   * register-then-read-mailbox), an operator's disconnect.
   */
  public CompletableFuture<Set<String>> liveNodes(String userId) {
    CompletableFuture<Set<String>> read;
    try {
      read = registry.liveNodesHolding(userId, clock.instant());
    } catch (RuntimeException | Error e) {
      // a failed read, never a throw: a shared read that threw would be left under way for good
      read = CompletableFuture.failedFuture(e);
    }
    return read.orTimeout(LOOKUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * As {@link #liveNodes}, but a route that comes while a read of the same user is under way takes that
   * read's answer instead of a read of its own: a burst of one user's messages costs one read, not one
   * each. The answer may then be as old as that read, up to {@link #LOOKUP_TIMEOUT}, and a route that joins
   * late fails as soon as the read does. That is what a route's read gives anyway while the socket
   * registers (a read is never in step with a registration), and the socket's later looks take what such a
   * route parks. Only for a message's first route: a sender's sequential sends never share a read (the
   * next starts after the last one's answer, and a read leaves the table before its answer is seen). The
   * routes that share a read get its answer in the order they came.
   */
  public CompletableFuture<Set<String>> liveNodesShared(String userId) {
    CompletableFuture<Set<String>> mine = new CompletableFuture<>();
    boolean[] first = {false};
    reading.compute(userId, (user, waiting) -> {
      List<CompletableFuture<Set<String>>> all = waiting == null ? new ArrayList<>() : waiting;
      first[0] = waiting == null;
      all.add(mine);
      return all;
    });
    if (first[0]) {
      liveNodes(userId).whenComplete((nodes, failed) -> answer(userId, nodes, failed));
    }
    return mine;
  }

  /** Every route waiting for the read of {@code userId} gets its answer, or its failure. */
  private void answer(String userId, Set<String> nodes, Throwable failed) {
    // out of the table before anyone sees the answer: whoever comes after it reads again
    List<CompletableFuture<Set<String>>> waiting = reading.remove(userId);
    Set<String> answer = null;
    Throwable failure = failed;
    try {
      answer = failure == null ? Set.copyOf(nodes) : null;
    } catch (RuntimeException e) {
      failure = e;
    }
    for (CompletableFuture<Set<String>> route : waiting) {
      if (failure != null) {
        route.completeExceptionally(failure);
      } else {
        route.complete(answer);
      }
    }
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
