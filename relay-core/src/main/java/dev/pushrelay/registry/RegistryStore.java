package dev.pushrelay.registry;

import java.time.Instant;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The registry seam: which node holds which user's sockets, and which nodes are alive. Writes are
 * O(1) per connection lifetime plus one heartbeat per node.
 */
public interface RegistryStore {
  /** Completes once the connection is committed. */
  CompletableFuture<Void> addConnection(ConnectionRecord connection);

  CompletableFuture<Void> removeConnections(Collection<String> connectionIds);

  /** Records that the node is alive until {@code expiresAt}. */
  CompletableFuture<Void> heartbeat(String nodeId, Instant now, Instant expiresAt);

  CompletableFuture<Void> removeNode(String nodeId);

  /** The nodes with a live heartbeat that hold at least one socket of the user. */
  CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now);
}
