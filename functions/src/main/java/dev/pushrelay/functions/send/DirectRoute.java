package dev.pushrelay.functions.send;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.routing.LiveRoute;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The direct route: when the registry shows live nodes holding the user, the message goes straight
 * to them (one Pub/Sub hop instead of two, no route function); otherwise, or when the registry does
 * not answer in time, it takes the retry path through {@code relay-requests}, parked first when the
 * registry shows no live node ({@link ParkFirst}). A node whose socket went meanwhile re-routes its
 * copy to that path, so nothing accepted depends on this lookup.
 */
final class DirectRoute {
  private static final Logger LOG = LoggerFactory.getLogger(DirectRoute.class);

  private final LiveRoute live;
  private final RelayPublisher publisher;
  private final ParkFirst parkFirst;
  private final RelayMetrics metrics;

  DirectRoute(LiveRoute live, RelayPublisher publisher, ParkFirst parkFirst, RelayMetrics metrics) {
    this.live = live;
    this.publisher = publisher;
    this.parkFirst = parkFirst;
    this.metrics = metrics;
  }

  /** Completes once Pub/Sub took the message on whichever path it went, under its trace context. */
  CompletableFuture<Void> publish(RelayMessage m) {
    return publish(m, lookUp(m.userId()));
  }

  /** The live nodes holding {@code userId}: a lookup the caller may start before it knows it will publish. */
  CompletableFuture<Set<String>> lookUp(String userId) {
    return live.liveNodesShared(userId);
  }

  /** As {@link #publish(RelayMessage)}, on a {@link #lookUp} of the message's user already under way. */
  CompletableFuture<Void> publish(RelayMessage m, CompletableFuture<Set<String>> lookup) {
    return lookup
        .handle((nodes, e) -> {
          if (e != null) {
            LOG.warn("registry lookup for message {} failed, taking the retry path: {}", m.id(), e.toString());
            return publisher.request(m, Map.of()).thenApply(id -> (Void) null);
          }
          if (nodes.isEmpty()) {
            return parkFirst.park(m, Map.of());
          }
          LOG.debug("message {} for user {} goes straight to nodes {}", m.id(), Pseudonyms.user(m.userId()), nodes);
          return live.deliver(nodes, m, Map.of()).thenRun(() -> metrics.routeAttempts(1))
              .exceptionallyCompose(failed -> {
                // a node retired between the lookup and the publish (its topic is gone): the retry path
                LOG.info("direct route of message {} failed, taking the retry path: {}", m.id(), failed.toString());
                return publisher.request(m, Map.of()).thenApply(id -> (Void) null);
              });
        })
        .thenCompose(published -> published);
  }
}
