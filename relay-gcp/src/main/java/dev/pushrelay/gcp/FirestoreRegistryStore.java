package dev.pushrelay.gcp;

import com.google.cloud.Timestamp;
import com.google.cloud.firestore.AggregateQuerySnapshot;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import com.google.cloud.firestore.WriteBatch;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Preconditions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
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
 * liveness is cached for a short time so a routed message costs one query, not one read per node. A
 * rollback ({@code scripts/rollback.sh --retire}) writes {@code retiredAt} on {@code revisions/{revision}}
 * and on each node document of that revision; a running node learns it at its next lease renewal, whose
 * condition the mark breaks, so retirement costs no polling of its own.
 */
public final class FirestoreRegistryStore implements RegistryStore {
  public static final String CONNECTIONS = "connections";
  public static final String NODES = "nodes";
  public static final String REVISIONS = "revisions";
  /** The field a rollback sets on a revision's document and on its nodes' documents. */
  public static final String RETIRED_AT = "retiredAt";
  /** Cloud Run ends a socket after 60 minutes: a connection document outlives it by a little. */
  private static final Duration CONNECTION_TTL = Duration.ofMinutes(65);
  /**
   * How long a node's document outlives its lease: {@code purgeAt}, the field of the collection's TTL
   * policy. Its delivery subscription never expires, and only the cleanup, which finds it by this
   * document, sweeps and deletes it; a TTL on the lease itself could delete the document first (say,
   * while no node serves), and the subscription would be left to nobody.
   */
  static final Duration NODE_PURGE_AFTER = Duration.ofDays(30);
  private static final Duration LIVENESS_CACHE = Duration.ofSeconds(1);

  private final Firestore db;
  private final RelayMetrics metrics;
  private final Map<String, CachedLease> leases = new ConcurrentHashMap<>();
  /** The update time of each lease this process last wrote: its renewals are conditional on it. */
  private final Map<String, Timestamp> leaseVersions = new ConcurrentHashMap<>();

  private record CachedLease(Instant expiresAt, Instant checkedAt) {}

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
  public CompletableFuture<Void> removeStaleConnections(String userId, String nodeId,
      java.util.function.Predicate<String> held) {
    return Completions.of(db.collection(CONNECTIONS).whereEqualTo("userId", userId).get()).thenCompose(s -> {
      metrics.firestoreReads(Math.max(1, s.size()));
      List<String> stale = s.getDocuments().stream()
          .filter(d -> nodeId.equals(d.getString("nodeId")) && !held.test(d.getId()))
          .map(DocumentSnapshot::getId).toList();
      return removeConnections(stale);
    });
  }

  /** A node's lease as written: the heartbeat, its end, and when the document may go ({@link #NODE_PURGE_AFTER}). */
  private static Map<String, Object> lease(Instant now, Instant expiresAt) {
    return Map.of("heartbeat", Timestamps.of(now), "expiresAt", Timestamps.of(expiresAt),
        "purgeAt", Timestamps.of(expiresAt.plus(NODE_PURGE_AFTER)));
  }

  @Override
  public CompletableFuture<Void> heartbeat(String nodeId, String revision, Instant now, Instant expiresAt) {
    Map<String, Object> doc = new java.util.HashMap<>(lease(now, expiresAt));
    if (!revision.isEmpty()) {
      doc.put("revision", revision);
    }
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(NODES).document(nodeId).set(doc)).thenApply(r -> {
      leaseVersions.put(nodeId, r.getUpdateTime());
      return null;
    });
  }

  /**
   * A write conditional on the node document being exactly as this node last wrote it (its update
   * time), not a transaction: a node killed in the middle of a transaction would leave a lock on its
   * own document that the cleanup then waits on. When the condition fails the document is read: gone
   * or claimed for cleanup means the lease is lost; otherwise (an earlier renewal that timed out here
   * but landed) the renewal is tried once more on the fresh version.
   */
  @Override
  public CompletableFuture<Lease> renewLease(String nodeId, Instant now, Instant expiresAt) {
    Timestamp version = leaseVersions.get(nodeId);
    if (version == null) {
      return readLease(nodeId).thenCompose(v -> v.lease() != Lease.HELD ? CompletableFuture.completedFuture(v.lease())
          : renewAt(nodeId, v.version(), now, expiresAt, true));
    }
    return renewAt(nodeId, version, now, expiresAt, true);
  }

  private CompletableFuture<Lease> renewAt(String nodeId, Timestamp version, Instant now, Instant expiresAt,
      boolean mayRetry) {
    metrics.firestoreWrites(1);
    DocumentReference ref = db.collection(NODES).document(nodeId);
    return Completions.of(ref.update(lease(now, expiresAt), Precondition.updatedAt(version)))
        .thenApply(r -> {
          leaseVersions.put(nodeId, r.getUpdateTime());
          return Lease.HELD;
        })
        .exceptionallyCompose(e -> {
          if (!Preconditions.lost(e) || !mayRetry) {
            return CompletableFuture.failedFuture(e);
          }
          return readLease(nodeId).thenCompose(v -> v.lease() != Lease.HELD
              ? CompletableFuture.completedFuture(v.lease()) : renewAt(nodeId, v.version(), now, expiresAt, false));
        });
  }

  /** What the node document says of the lease, and its version when it is still the node's own. */
  private record LeaseState(Lease lease, Timestamp version) {}

  /**
   * The node document as the lease sees it: gone or claimed for cleanup is lost; marked {@code retiredAt}
   * by a rollback is retired; otherwise held, at the document's version.
   */
  private CompletableFuture<LeaseState> readLease(String nodeId) {
    metrics.firestoreReads(1);
    return Completions.of(db.collection(NODES).document(nodeId).get()).thenApply(doc -> {
      if (!doc.exists() || doc.get("cleanupBy") != null) {
        return new LeaseState(Lease.LOST, null);
      }
      return doc.get(RETIRED_AT) != null ? new LeaseState(Lease.RETIRED, null)
          : new LeaseState(Lease.HELD, doc.getUpdateTime());
    });
  }

  @Override
  public CompletableFuture<Boolean> revisionRetired(String revision) {
    if (revision.isEmpty()) {
      return CompletableFuture.completedFuture(false);
    }
    metrics.firestoreReads(1);
    return Completions.of(db.collection(REVISIONS).document(revision).get())
        .thenApply(doc -> doc.exists() && doc.get(RETIRED_AT) != null);
  }

  @Override
  public CompletableFuture<Void> retire(String nodeId, Instant now) {
    leases.remove(nodeId);
    metrics.firestoreWrites(1);
    // the drain's own claim holds RETIRE_HOLD, not CLEANUP_CLAIM: a drain cut short is finished soon
    Instant claimedAt = now.minus(CLEANUP_CLAIM).plus(RETIRE_HOLD);
    return Completions.of(db.collection(NODES).document(nodeId).update("expiresAt", Timestamps.of(now),
        "cleanupBy", nodeId, "cleanupAt", Timestamps.of(claimedAt))).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Void> removeNode(String nodeId) {
    leases.remove(nodeId);
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(NODES).document(nodeId).delete()).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Set<String>> withoutDocument(Collection<String> nodeIds) {
    if (nodeIds.isEmpty()) {
      return CompletableFuture.completedFuture(Set.of());
    }
    metrics.firestoreReads(nodeIds.size());
    DocumentReference[] refs = nodeIds.stream().map(id -> db.collection(NODES).document(id))
        .toArray(DocumentReference[]::new);
    return Completions.of(db.getAll(refs)).thenApply(docs -> {
      Set<String> missing = new HashSet<>();
      docs.stream().filter(d -> !d.exists()).forEach(d -> missing.add(d.getId()));
      return missing;
    });
  }

  @Override
  public CompletableFuture<Boolean> adoptOrphan(String nodeId, Instant now) {
    metrics.firestoreWrites(1);
    return Completions.of(db.collection(NODES).document(nodeId).create(lease(now, now)))
        .thenApply(r -> true)
        .exceptionallyCompose(e -> Preconditions.exists(e) ? CompletableFuture.completedFuture(false)
            : CompletableFuture.failedFuture(e));
  }

  @Override
  public CompletableFuture<List<String>> lapsedNodes(Instant before) {
    return Completions.of(db.collection(NODES).whereLessThan("expiresAt", Timestamps.of(before)).get())
        .thenApply(s -> {
          metrics.firestoreReads(Math.max(1, s.size()));
          return s.getDocuments().stream().map(DocumentSnapshot::getId).toList();
        });
  }

  /** Read, then a write conditional on the version read: no transaction, so no lock a dead claimer leaves. */
  @Override
  public CompletableFuture<Boolean> claimCleanup(String nodeId, String byNodeId, Instant now,
      Instant lapsedBefore) {
    DocumentReference ref = db.collection(NODES).document(nodeId);
    metrics.firestoreReads(1);
    return Completions.of(ref.get()).thenCompose(doc -> {
      if (!doc.exists()) {
        return CompletableFuture.completedFuture(false);
      }
      Timestamp expires = doc.getTimestamp("expiresAt");
      if (expires != null && !Timestamps.instant(expires).isBefore(lapsedBefore)) {
        return CompletableFuture.completedFuture(false); // it renewed since the query saw it lapsed
      }
      Timestamp claimedAt = doc.getTimestamp("cleanupAt");
      if (claimedAt != null && Timestamps.instant(claimedAt).plus(CLEANUP_CLAIM).isAfter(now)
          && !byNodeId.equals(doc.getString("cleanupBy"))) {
        return CompletableFuture.completedFuture(false);
      }
      metrics.firestoreWrites(1);
      return Completions.of(ref.update(Map.of("cleanupBy", byNodeId, "cleanupAt", Timestamps.of(now)),
              Precondition.updatedAt(doc.getUpdateTime())))
          .thenApply(r -> true)
          .exceptionallyCompose(e -> Preconditions.lost(e) ? CompletableFuture.completedFuture(false)
              : CompletableFuture.failedFuture(e));
    });
  }

  @Override
  public CompletableFuture<List<ConnectionRecord>> connectionsOn(String nodeId) {
    return Completions.of(db.collection(CONNECTIONS).whereEqualTo("nodeId", nodeId).get())
        .thenApply(s -> {
          metrics.firestoreReads(Math.max(1, s.size()));
          List<ConnectionRecord> out = new ArrayList<>(s.size());
          for (QueryDocumentSnapshot d : s.getDocuments()) {
            Timestamp at = d.getTimestamp("connectedAt");
            String user = d.getString("userId");
            if (user != null) {
              out.add(new ConnectionRecord(d.getId(), user, nodeId, at == null ? Instant.EPOCH : Timestamps.instant(at)));
            }
          }
          return out;
        });
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

  @Override
  public CompletableFuture<Long> countConnections(String userId) {
    metrics.firestoreReads(1);
    return Completions.of(db.collection(CONNECTIONS).whereEqualTo("userId", userId).count().get())
        .thenApply(AggregateQuerySnapshot::getCount);
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
        Instant expiresAt = expires == null ? Instant.EPOCH : Timestamps.instant(expires);
        leases.put(d.getId(), new CachedLease(expiresAt, now));
        if (expiresAt.isAfter(now)) {
          live.add(d.getId());
        }
      }
      return live;
    });
  }

}
