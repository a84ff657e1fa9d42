package dev.pushrelay.testing;

import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/** In-memory registry seam for unit tests, with the same liveness rule as the Firestore one. */
public final class InMemoryRegistryStore implements RegistryStore {
  private final Map<String, ConnectionRecord> connections = new ConcurrentHashMap<>();
  private final Map<String, Instant> leases = new ConcurrentHashMap<>();
  private final Map<String, String> cleanups = new ConcurrentHashMap<>();
  private final Map<String, String> revisions = new ConcurrentHashMap<>();
  private final java.util.Set<String> retired = ConcurrentHashMap.newKeySet();

  @Override
  public CompletableFuture<Void> addConnection(ConnectionRecord connection) {
    connections.put(connection.connectionId(), connection);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> removeConnections(Collection<String> connectionIds) {
    connectionIds.forEach(connections::remove);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> removeStaleConnections(String userId, String nodeId,
      java.util.function.Predicate<String> held) {
    connections.values().removeIf(c -> c.userId().equals(userId) && c.nodeId().equals(nodeId)
        && !held.test(c.connectionId()));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> heartbeat(String nodeId, String revision, Instant now, Instant expiresAt) {
    leases.put(nodeId, expiresAt);
    revisions.put(nodeId, revision);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Lease> renewLease(String nodeId, Instant now, Instant expiresAt) {
    if (!leases.containsKey(nodeId) || cleanups.containsKey(nodeId)) {
      return CompletableFuture.completedFuture(Lease.LOST);
    }
    if (retired.contains(revisions.getOrDefault(nodeId, ""))) {
      return CompletableFuture.completedFuture(Lease.RETIRED);
    }
    leases.put(nodeId, expiresAt);
    return CompletableFuture.completedFuture(Lease.HELD);
  }

  @Override
  public CompletableFuture<Boolean> revisionRetired(String revision) {
    return CompletableFuture.completedFuture(retired.contains(revision));
  }

  /** What {@code scripts/rollback.sh --retire} does to the registry: the revision and its nodes are marked. */
  public void retireRevision(String revision) {
    retired.add(revision);
  }

  @Override
  public synchronized CompletableFuture<Void> retire(String nodeId, Instant now) {
    leases.computeIfPresent(nodeId, (n, e) -> now);
    cleanups.put(nodeId, nodeId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> removeNode(String nodeId) {
    leases.remove(nodeId);
    cleanups.remove(nodeId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Set<String>> withoutDocument(Collection<String> nodeIds) {
    return CompletableFuture.completedFuture(nodeIds.stream().filter(n -> !leases.containsKey(n))
        .collect(Collectors.toSet()));
  }

  @Override
  public CompletableFuture<Boolean> adoptOrphan(String nodeId, Instant now) {
    return CompletableFuture.completedFuture(leases.putIfAbsent(nodeId, now) == null);
  }

  @Override
  public CompletableFuture<java.util.List<String>> lapsedNodes(Instant before) {
    return CompletableFuture.completedFuture(leases.entrySet().stream()
        .filter(e -> e.getValue().isBefore(before)).map(Map.Entry::getKey).toList());
  }

  @Override
  public synchronized CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now,
      Instant lapsedBefore) {
    Instant lease = leases.get(nodeId);
    if (lease == null || !lease.isBefore(lapsedBefore)) {
      return CompletableFuture.completedFuture(false);
    }
    String holder = cleanups.putIfAbsent(nodeId, byNodeId);
    return CompletableFuture.completedFuture(holder == null || holder.equals(byNodeId));
  }

  @Override
  public CompletableFuture<java.util.List<ConnectionRecord>> connectionsOn(String nodeId) {
    return CompletableFuture.completedFuture(connections.values().stream()
        .filter(c -> c.nodeId().equals(nodeId)).toList());
  }

  @Override
  public CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now) {
    return CompletableFuture.completedFuture(connections.values().stream()
        .filter(c -> c.userId().equals(userId))
        .map(ConnectionRecord::nodeId)
        .filter(n -> leases.getOrDefault(n, Instant.EPOCH).isAfter(now))
        .collect(Collectors.toSet()));
  }

  @Override
  public CompletableFuture<Long> countConnections(String userId) {
    return CompletableFuture.completedFuture(connections.values().stream().filter(c -> c.userId().equals(userId))
        .count());
  }

  public Map<String, ConnectionRecord> connections() {
    return Map.copyOf(connections);
  }
}
