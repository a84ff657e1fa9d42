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
  public CompletableFuture<Void> heartbeat(String nodeId, Instant now, Instant expiresAt) {
    leases.put(nodeId, expiresAt);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Void> removeNode(String nodeId) {
    leases.remove(nodeId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<java.util.List<String>> lapsedNodes(Instant before) {
    return CompletableFuture.completedFuture(leases.entrySet().stream()
        .filter(e -> e.getValue().isBefore(before)).map(Map.Entry::getKey).toList());
  }

  @Override
  public CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now) {
    return CompletableFuture.completedFuture(cleanups.putIfAbsent(nodeId, byNodeId) == null && leases.containsKey(nodeId));
  }

  @Override
  public CompletableFuture<Void> removeNodeAndConnections(String nodeId) {
    connections.values().removeIf(c -> c.nodeId().equals(nodeId));
    leases.remove(nodeId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now) {
    return CompletableFuture.completedFuture(connections.values().stream()
        .filter(c -> c.userId().equals(userId))
        .map(ConnectionRecord::nodeId)
        .filter(n -> leases.getOrDefault(n, Instant.EPOCH).isAfter(now))
        .collect(Collectors.toSet()));
  }

  public Map<String, ConnectionRecord> connections() {
    return Map.copyOf(connections);
  }
}
