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
  /** Completes once the connection is committed. */
  CompletableFuture<Void> addConnection(ConnectionRecord connection);

  CompletableFuture<Void> removeConnections(Collection<String> connectionIds);

  /**
   * Removes the connections of {@code userId} registered under {@code nodeId} that {@code held} does not
   * claim: entries the node left behind (a removal that failed), which would otherwise keep routing the
   * user's messages to a node that no longer holds a socket of theirs. {@code held} is asked once the
   * registry has answered, not before: a socket that registered while the query ran is kept.
   */
  CompletableFuture<Void> removeStaleConnections(String userId, String nodeId,
      java.util.function.Predicate<String> held);

  /**
   * Records that the node is alive until {@code expiresAt}: the first lease of a new node incarnation,
   * of the deployed {@code revision} (Cloud Run's {@code K_REVISION}; empty: none).
   */
  CompletableFuture<Void> heartbeat(String nodeId, String revision, Instant now, Instant expiresAt);

  /** {@link #heartbeat(String, String, Instant, Instant)} of a node of no named revision. */
  default CompletableFuture<Void> heartbeat(String nodeId, Instant now, Instant expiresAt) {
    return heartbeat(nodeId, "", now, expiresAt);
  }

  /** What a lease renewal found. */
  enum Lease {
    /** Extended: the node serves on. */
    HELD,
    /** The node document is gone or claimed for cleanup: the node was declared dead. */
    LOST,
    /** The node's revision was retired (a rollback): the node leaves and does not come back. */
    RETIRED
  }

  /**
   * True when {@code revision} was retired (a rollback marked {@code revisions/{revision}}): a node of it
   * does not serve. A node reads it when an incarnation starts; a running node learns it from its lease
   * renewal, since the rollback marks the node documents of that revision too.
   */
  CompletableFuture<Boolean> revisionRetired(String revision);

  /**
   * Extends the node's lease to {@code expiresAt}, conditional on the lease still being the node's:
   * {@link Lease#HELD} when extended; {@link Lease#LOST} when the node document is gone or claimed for
   * cleanup by another node (the node has been declared dead and must stop serving under this id);
   * {@link Lease#RETIRED} when its revision was retired.
   */
  CompletableFuture<Lease> renewLease(String nodeId, Instant now, Instant expiresAt);

  /**
   * A node leaves routing on purpose (a drain): its lease ends now, and it holds the cleanup claim on
   * itself for {@link #RETIRE_HOLD}, so no other node cleans it up while it drains; if the drain does
   * not finish, the claim runs out and the crash cleanup finishes the job.
   */
  CompletableFuture<Void> retire(String nodeId, Instant now);

  CompletableFuture<Void> removeNode(String nodeId);

  /** Nodes whose lease ran out before {@code before}: crashed, or killed without a drain. */
  CompletableFuture<List<String>> lapsedNodes(Instant before);

  /** Those of {@code nodeIds} that have no node document: one read each. */
  CompletableFuture<Set<String>> withoutDocument(Collection<String> nodeIds);

  /**
   * Writes a document lapsed at {@code now} for a node that has none, so that the crash cleanup takes
   * it (its delivery subscription outlived its document); false when a document exists meanwhile.
   */
  CompletableFuture<Boolean> adoptOrphan(String nodeId, Instant now);

  /**
   * Takes the job of cleaning up after a node whose lease ran out before {@code lapsedBefore}, checked
   * again inside the claim's transaction (a node that renewed meanwhile is not claimed); true for
   * exactly one caller, unless that caller's claim is older than {@link #CLEANUP_CLAIM}.
   */
  CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now, Instant lapsedBefore);

  /** How long a cleanup claim holds before another node may take the job over; its holder may renew it. */
  java.time.Duration CLEANUP_CLAIM = java.time.Duration.ofSeconds(60);

  /** How long a draining node's claim on itself holds (Cloud Run gives a drain 10 s). */
  java.time.Duration RETIRE_HOLD = java.time.Duration.ofSeconds(15);

  /**
   * The connections registered under {@code nodeId}: the sockets a node that died held, for their
   * {@code disconnected} events, before {@link #removeConnections} and {@link #removeNode} delete them.
   */
  CompletableFuture<List<ConnectionRecord>> connectionsOn(String nodeId);

  /** The nodes with a live heartbeat that hold at least one socket of the user. */
  CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now);

  /**
   * How many registry entries {@code userId} has, on any node: live sockets, and those of a node that
   * died and is not cleaned up yet. One aggregation: a read per thousand entries.
   */
  CompletableFuture<Long> countConnections(String userId);
}
