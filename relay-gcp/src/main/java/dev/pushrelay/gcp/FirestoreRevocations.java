package dev.pushrelay.gcp;

import com.google.cloud.Timestamp;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.Firestore;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.registry.Revocations;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Revocations in Firestore: {@code revocations/{userId}} with {@code issuedBefore} and {@code expiresAt}
 * ({@code issuedBefore + HOLD}, the field of the collection's TTL policy). A read costs one document,
 * found or not; a revoke is one transaction (a read and a write), so that it never loosens one held.
 *
 * <p>A socket node {@linkplain #watching() watches} the collection instead: one snapshot listener keeps
 * every revocation in memory (a few: each lives {@code HOLD} and users rarely revoke), so a handshake's
 * check costs no read and cannot be held up by a busy Firestore during a reconnect storm. Until the
 * listener has its first snapshot, and after it failed, reads go to Firestore as without it.
 */
public final class FirestoreRevocations implements Revocations {
  public static final String REVOCATIONS = "revocations";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FirestoreRevocations.class);

  private final Firestore db;
  private final RelayMetrics metrics;
  /** The watched revocations by user id, while {@link #current}. */
  private final java.util.Map<String, DocumentSnapshot> watched = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile boolean current;
  private volatile java.util.function.BiConsumer<String, Instant> revoked = (user, before) -> { };
  private volatile com.google.cloud.firestore.ListenerRegistration watch;
  /** How long after a failed watch it is started again. */
  private static final java.time.Duration REWATCH = java.time.Duration.ofSeconds(5);

  public FirestoreRevocations(Firestore db, RelayMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<Optional<Instant>> issuedBefore(String userId, Instant now) {
    if (current) {
      DocumentSnapshot doc = watched.get(userId);
      return CompletableFuture.completedFuture(doc == null ? Optional.empty() : held(doc, now));
    }
    metrics.firestoreReads(1);
    return Completions.of(db.collection(REVOCATIONS).document(userId).get()).thenApply(doc -> held(doc, now));
  }

  @Override
  public CompletableFuture<Void> revoke(String userId, Instant issuedBefore) {
    DocumentReference ref = db.collection(REVOCATIONS).document(userId);
    metrics.firestoreReads(1);
    return Completions.of(db.runTransaction(tx -> {
      Optional<Instant> held = held(tx.get(ref).get(), Instant.MIN);
      if (held.isPresent() && !held.get().isBefore(issuedBefore)) {
        return false;
      }
      tx.set(ref, Map.of("issuedBefore", Timestamps.of(issuedBefore),
          "expiresAt", Timestamps.of(issuedBefore.plus(HOLD))));
      return true;
    })).thenAccept(wrote -> {
      if (wrote) {
        metrics.firestoreWrites(1);
      }
    });
  }

  /**
   * Starts the snapshot listener on the collection and returns this; {@link #stopWatching} ends it, before
   * the Firestore client is closed (an open listener holds the client's channel open). Each change lands
   * within about a second of the write.
   */
  public FirestoreRevocations watching() {
    watch = db.collection(REVOCATIONS).addSnapshotListener((snapshot, error) -> {
      if (error != null) {
        current = false;
        LOG.warn("the watch of {} failed, reading each handshake's revocation until it is back (in {} s): {}",
            REVOCATIONS, REWATCH.toSeconds(), error.toString());
        // a failed listener does not come back by itself
        CompletableFuture.delayedExecutor(REWATCH.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
            .execute(() -> {
              if (watch != null) {
                watching();
              }
            });
        return;
      }
      for (com.google.cloud.firestore.DocumentChange change : snapshot.getDocumentChanges()) {
        DocumentSnapshot doc = change.getDocument();
        if (change.getType() == com.google.cloud.firestore.DocumentChange.Type.REMOVED) {
          watched.remove(doc.getId());
        } else {
          watched.put(doc.getId(), doc);
          held(doc, Instant.now()).ifPresent(before -> revoked.accept(doc.getId(), before));
        }
      }
      metrics.firestoreReads(Math.max(1, snapshot.getDocumentChanges().size()));
      current = true;
    });
    return this;
  }

  @Override
  public void onRevoked(java.util.function.BiConsumer<String, Instant> revoked) {
    this.revoked = revoked;
  }

  /** Ends the snapshot listener, if one runs; reads then go to Firestore. */
  public void stopWatching() {
    current = false;
    com.google.cloud.firestore.ListenerRegistration w = watch;
    watch = null;
    if (w != null) {
      w.remove();
    }
  }

  /** The document's instant while it holds at {@code now}; TTL deletion lags, so the end is checked here too. */
  private static Optional<Instant> held(DocumentSnapshot doc, Instant now) {
    if (!doc.exists()) {
      return Optional.empty();
    }
    Timestamp before = doc.getTimestamp("issuedBefore");
    Timestamp expires = doc.getTimestamp("expiresAt");
    if (before == null || (expires != null && !Timestamps.instant(expires).isAfter(now))) {
      return Optional.empty();
    }
    return Optional.of(Timestamps.instant(before));
  }
}
