package dev.pushrelay.registry;

import com.google.cloud.Timestamp;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import com.google.cloud.firestore.WriteBatch;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry in Firestore: {@code connections/{connectionId}} and {@code nodes/{nodeId}}. Node
 * liveness is cached for a short time so a routed message costs one query, not one read per node.
 */
public final class FirestoreRegistryStore implements RegistryStore {
  public static final String CONNECTIONS = "connections";
  public static final String NODES = "nodes";
  /** Cloud Run ends a socket after 60 minutes: a connection document outlives it by a little. */
  private static final Duration CONNECTION_TTL = Duration.ofMinutes(65);
  private static final Duration LIVENESS_CACHE = Duration.ofSeconds(1);

  private final Firestore db;
  private final RelayMetrics metrics;
  private final Map<String, CachedLease> leases = new ConcurrentHashMap<>();

  private record CachedLease(Instant expiresAt, Instant checkedAt) {}

  public FirestoreRegistryStore(Firestore db) {
    this(db, RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** Counts the documents it reads and writes in {@code metrics}. */
  public FirestoreRegistryStore(Firestore db, RelayMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<Void> addConnection(ConnectionRecord c) {
    Map<String, Object> doc = Map.of(
        "userId", c.userId(),
        "nodeId", c.nodeId(),
        "connectedAt", Timestamps.of(c.connectedAt()),
        "expiresAt", Timestamps.of(c.connectedAt().plus(CONNECTION_TTL)));
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(CONNECTIONS).document(c.connectionId()).set(doc)).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Void> removeConnections(Collection<String> connectionIds) {
    if (connectionIds.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    List<CompletableFuture<?>> commits = new ArrayList<>();
    List<String> ids = new ArrayList<>(connectionIds);
    metrics.firestoreWrites(ids.size());
    for (int from = 0; from < ids.size(); from += 500) {
      WriteBatch batch = db.batch();
      for (String id : ids.subList(from, Math.min(ids.size(), from + 500))) {
        batch.delete(db.collection(CONNECTIONS).document(id));
      }
      commits.add(Completions.of(batch.commit()));
    }
    return CompletableFuture.allOf(commits.toArray(CompletableFuture[]::new));
  }

  @Override
  public CompletableFuture<Void> heartbeat(String nodeId, Instant now, Instant expiresAt) {
    Map<String, Object> doc = Map.of("heartbeat", Timestamps.of(now), "expiresAt", Timestamps.of(expiresAt));
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(NODES).document(nodeId).set(doc)).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Void> removeNode(String nodeId) {
    leases.remove(nodeId);
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(NODES).document(nodeId).delete()).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<List<String>> lapsedNodes(Instant before) {
    return Completions.of(db.collection(NODES).whereLessThan("expiresAt", Timestamps.of(before)).get())
        .thenApply(s -> {
          metrics.firestoreReads(Math.max(1, s.size()));
          return s.getDocuments().stream().map(DocumentSnapshot::getId).toList();
        });
  }

  @Override
  public CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now) {
    DocumentReference ref = db.collection(NODES).document(nodeId);
    return Completions.of(db.runTransaction(tx -> {
      DocumentSnapshot doc = tx.get(ref).get();
      metrics.firestoreReads(1);
      if (!doc.exists()) {
        return false;
      }
      Timestamp claimedAt = doc.getTimestamp("cleanupAt");
      if (claimedAt != null && Timestamps.instant(claimedAt).plusSeconds(60).isAfter(now)) {
        return false;
      }
      tx.update(ref, "cleanupBy", byNodeId, "cleanupAt", Timestamps.of(now));
      metrics.firestoreWrites(1);
      return true;
    }));
  }

  @Override
  public CompletableFuture<Void> removeNodeAndConnections(String nodeId) {
    return Completions.of(db.collection(CONNECTIONS).whereEqualTo("nodeId", nodeId).get())
        .thenApply(s -> {
          metrics.firestoreReads(Math.max(1, s.size()));
          return s;
        })
        .thenCompose(s -> removeConnections(s.getDocuments().stream().map(DocumentSnapshot::getId).toList()))
        .thenCompose(v -> removeNode(nodeId));
  }

  @Override
  public CompletableFuture<Set<String>> liveNodesHolding(String userId, Instant now) {
    return Completions.of(db.collection(CONNECTIONS).whereEqualTo("userId", userId).get())
        .thenCompose(snapshot -> {
          metrics.firestoreReads(Math.max(1, snapshot.size()));
          Set<String> holders = new HashSet<>();
          for (QueryDocumentSnapshot d : snapshot.getDocuments()) {
            String node = d.getString("nodeId");
            if (node != null) {
              holders.add(node);
            }
          }
          return liveAmong(holders, now);
        });
  }

  private CompletableFuture<Set<String>> liveAmong(Set<String> nodes, Instant now) {
    Set<String> live = new HashSet<>();
    List<DocumentReference> unknown = new ArrayList<>();
    for (String node : nodes) {
      CachedLease lease = leases.get(node);
      if (lease != null && lease.checkedAt().plus(LIVENESS_CACHE).isAfter(now)) {
        if (lease.expiresAt().isAfter(now)) {
          live.add(node);
        }
      } else {
        unknown.add(db.collection(NODES).document(node));
      }
    }
    if (unknown.isEmpty()) {
      return CompletableFuture.completedFuture(live);
    }
    metrics.firestoreReads(unknown.size());
    return Completions.of(db.getAll(unknown.toArray(DocumentReference[]::new))).thenApply(docs -> {
      for (DocumentSnapshot d : docs) {
        Timestamp expires = d.exists() ? d.getTimestamp("expiresAt") : null;
        Instant expiresAt = expires == null ? Instant.EPOCH : expires.toDate().toInstant();
        leases.put(d.getId(), new CachedLease(expiresAt, now));
        if (expiresAt.isAfter(now)) {
          live.add(d.getId());
        }
      }
      return live;
    });
  }

}
