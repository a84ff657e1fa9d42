package dev.pushrelay.registry;

import com.google.cloud.Timestamp;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.Firestore;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.metrics.RelayMetrics;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Revocations in Firestore: {@code revocations/{userId}} with {@code issuedBefore} and {@code expiresAt}
 * ({@code issuedBefore + HOLD}, the field of the collection's TTL policy). A read costs one document,
 * found or not; a revoke is one transaction (a read and a write), so that it never loosens one held.
 */
public final class FirestoreRevocations implements Revocations {
  public static final String REVOCATIONS = "revocations";

  private final Firestore db;
  private final RelayMetrics metrics;

  public FirestoreRevocations(Firestore db, RelayMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<Optional<Instant>> issuedBefore(String userId, Instant now) {
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
