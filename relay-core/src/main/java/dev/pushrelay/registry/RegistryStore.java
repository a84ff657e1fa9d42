package dev.pushrelay.registry;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The registry seam: which node holds which user's sockets, and which nodes are alive. Writes are
 * O(1) per connection lifetime plus one heartbeat per node.
 */
public interface RegistryStore {
  /**
   * How long a route (the send function's direct route, the route function) waits for
   * {@link #liveNodesHolding} before it gives up on it; a draining node sweeps its subscription for longer
   * than this after leaving the registry, so no route that read it before can publish to it after.
   */
  java.time.Duration ROUTE_LOOKUP_TIMEOUT = java.time.Duration.ofSeconds(2);

  /** Completes once the connection is committed. */
  CompletableFuture<Void> addConnection(ConnectionRecord connection);

  CompletableFuture<Void> removeConnections(Collection<String> connectionIds);

  /** Records that the node is alive until {@code expiresAt}. */
  CompletableFuture<Void> heartbeat(String nodeId, Instant now, Instant expiresAt);

  CompletableFuture<Void> removeNode(String nodeId);

  /** Nodes whose lease ran out before {@code before}: crashed, or killed without a drain. */
  CompletableFuture<List<String>> lapsedNodes(Instant before);

  /**
   * Takes the job of cleaning up after a lapsed node; true for exactly one caller, unless that
   * caller's claim is itself older than a minute.
   */
  CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now);

  /** Deletes a node and every connection registered under it. */
  CompletableFuture<Void> removeNodeAndConnections(String nodeId);

  /** The nodes with a live heartbeat that hold at least one socket of the user. */
  CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now);
}
