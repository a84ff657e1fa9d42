package dev.pushrelay.mailbox;

import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.Timestamp;
import com.google.cloud.firestore.CollectionReference;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.FieldValue;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import com.google.cloud.firestore.WriteBatch;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.RelayMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The mailbox in Firestore: {@code mailboxes/{userId}/pending/{messageId}}, changed in transactions. */
public final class FirestoreMailbox implements Mailbox {
  private static final Logger LOG = LoggerFactory.getLogger(FirestoreMailbox.class);
  public static final String MAILBOXES = "mailboxes";
  public static final String PENDING = "pending";
  static final String STATE_PENDING = "pending";
  static final String STATE_CLAIMED = "claimed";
  static final String STATE_DELIVERED = "delivered";
  /** A claim older than this belongs to a socket or node that died mid catch-up. */
  static final Duration CLAIM_TIMEOUT = Duration.ofSeconds(30);
  /** How long a delivered tombstone stays for the route function to see. */
  static final Duration TOMBSTONE_TTL = Duration.ofHours(1);
  private static final int CLAIM_LIMIT = 500;

  private final Firestore db;
  private final RelayMetrics metrics;

  public FirestoreMailbox(Firestore db) {
    this(db, RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** Counts the documents it reads and writes in {@code metrics}. */
  public FirestoreMailbox(Firestore db, RelayMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  private CollectionReference pending(String userId) {
    return db.collection(MAILBOXES).document(userId).collection(PENDING);
  }

  @Override
  public CompletableFuture<ParkOutcome> park(RelayMessage m, Map<String, String> trace, int attemptHint,
      boolean exact, int maxAttempts, Instant now) {
    DocumentReference ref = pending(m.userId()).document(m.id());
    metrics.firestoreReads(1);
    return Completions.of(db.runTransaction(tx -> {
      DocumentSnapshot doc = tx.get(ref).get();
      String state = doc.exists() ? doc.getString("state") : null;
      if (STATE_DELIVERED.equals(state)) {
        // the tombstone stays until its TTL, so a duplicate push of this message is settled as well
        return new Parked(ParkOutcome.ALREADY_DELIVERED, false);
      }
      boolean freshClaim = STATE_CLAIMED.equals(state) && !claimExpired(doc, now);
      long recorded = doc.exists() && doc.getLong("attempts") != null ? doc.getLong("attempts") : 0;
      long attempt = exact ? attemptHint : Math.max(recorded + 1, attemptHint);
      if (attempt >= maxAttempts) {
        if (freshClaim) {
          // A socket is writing it this very moment: count it as delivered rather than dead-letter it.
          return new Parked(ParkOutcome.ALREADY_DELIVERED, false);
        }
        if (doc.exists()) {
          tx.delete(ref);
        }
        return new Parked(ParkOutcome.FINAL, doc.exists());
      }
      if (doc.exists() && (freshClaim || STATE_PENDING.equals(state))) {
        ParkOutcome outcome = freshClaim ? ParkOutcome.CLAIMED : ParkOutcome.STILL_PARKED;
        if (exact) {
          return new Parked(outcome, false);
        }
        tx.update(ref, "attempts", attempt);
        return new Parked(outcome, true);
      }
      Map<String, Object> entry = new HashMap<>();
      entry.put("message", m.toJson());
      entry.put("sentAt", Timestamps.of(m.sentAt()));
      entry.put("expiresAt", Timestamps.of(m.expiresAt()));
      entry.put("parkedAt", Timestamps.of(now));
      entry.put("attempts", attempt);
      entry.put("state", STATE_PENDING);
      if (!trace.isEmpty()) {
        entry.put("trace", trace);
      }
      tx.set(ref, entry);
      return new Parked(ParkOutcome.PARKED, true);
    })).thenApply(parked -> {
      metrics.firestoreWrites(parked.wrote() ? 1 : 0);
      return parked.outcome();
    });
  }

  /** What a park transaction decided, and whether it wrote the entry. */
  private record Parked(ParkOutcome outcome, boolean wrote) {}

  @Override
  public CompletableFuture<Void> discard(String userId, String messageId) {
    metrics.firestoreWrites(1);
    return Completions.of(pending(userId).document(messageId).delete()).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<List<ParkedMessage>> claim(String userId, String connectionId, Instant now) {
    CollectionReference box = pending(userId);
    return Completions.of(db.runTransaction(tx -> {
      List<QueryDocumentSnapshot> docs = tx.get(box.orderBy("sentAt").limit(CLAIM_LIMIT)).get().getDocuments();
      metrics.firestoreReads(Math.max(1, docs.size()));
      List<ParkedMessage> claimed = new ArrayList<>();
      for (QueryDocumentSnapshot doc : docs) {
        String state = doc.getString("state");
        boolean claimable = STATE_PENDING.equals(state) || (STATE_CLAIMED.equals(state) && claimExpired(doc, now));
        boolean shared = !claimable && claimedByAnotherSince(doc, connectionId, now.minus(SHARED_WINDOW));
        Timestamp expires = doc.getTimestamp("expiresAt");
        if (!(claimable || shared) || (claimable && expires != null && !expires.toDate().toInstant().isAfter(now))) {
          continue;
        }
        RelayMessage m = decode(doc);
        if (m == null) {
          continue;
        }
        if (shared) {
          claimed.add(new ParkedMessage(m, trace(doc), false));
          continue;
        }
        tx.update(doc.getReference(), "state", STATE_CLAIMED, "claimedBy", connectionId, "claimedAt", Timestamps.of(now));
        metrics.firestoreWrites(1);
        claimed.add(new ParkedMessage(m, trace(doc), true));
      }
      return claimed;
    }));
  }

  @Override
  public CompletableFuture<Void> delivered(String userId, List<String> messageIds, Instant now) {
    if (messageIds.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    metrics.firestoreWrites(messageIds.size());
    WriteBatch batch = db.batch();
    for (String id : messageIds) {
      batch.update(pending(userId).document(id), "state", STATE_DELIVERED, "deliveredAt", Timestamps.of(now),
          "expiresAt", Timestamps.of(now.plus(TOMBSTONE_TTL)));
    }
    return Completions.of(batch.commit()).handle((r, e) -> {
      if (e != null && !(unwrap(e) instanceof NotFoundException)) {
        throw new CompletionException(e);
      }
      // NOT_FOUND: the route function already routed it live and discarded the entry.
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> release(String userId, List<String> messageIds) {
    if (messageIds.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    metrics.firestoreWrites(messageIds.size());
    WriteBatch batch = db.batch();
    for (String id : messageIds) {
      batch.update(pending(userId).document(id), "state", STATE_PENDING, "claimedBy", FieldValue.delete(),
          "claimedAt", FieldValue.delete());
    }
    return Completions.of(batch.commit()).handle((r, e) -> null);
  }

  /** Claimed (or since delivered) by another socket at or after {@code since}. */
  private static boolean claimedByAnotherSince(DocumentSnapshot doc, String connectionId, Instant since) {
    Timestamp at = doc.getTimestamp("claimedAt");
    String by = doc.getString("claimedBy");
    String state = doc.getString("state");
    return (STATE_CLAIMED.equals(state) || STATE_DELIVERED.equals(state)) && at != null && by != null
        && !by.equals(connectionId) && !at.toDate().toInstant().isBefore(since);
  }

  private static boolean claimExpired(DocumentSnapshot doc, Instant now) {
    Timestamp at = doc.getTimestamp("claimedAt");
    return at == null || at.toDate().toInstant().plus(CLAIM_TIMEOUT).isBefore(now);
  }

  private static Map<String, String> trace(DocumentSnapshot doc) {
    Map<String, String> out = new HashMap<>();
    if (doc.get("trace") instanceof Map<?, ?> stored) {
      stored.forEach((k, v) -> {
        if (k instanceof String key && v instanceof String value) {
          out.put(key, value);
        }
      });
    }
    return out;
  }

  private static RelayMessage decode(DocumentSnapshot doc) {
    String json = doc.getString("message");
    try {
      return json == null ? null : RelayMessage.parse(json.getBytes(StandardCharsets.UTF_8));
    } catch (InvalidRequestException e) {
      LOG.error("mailbox entry {} is not a relay message; skipping it", doc.getReference().getPath());
      return null;
    }
  }

  private static Throwable unwrap(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

}
