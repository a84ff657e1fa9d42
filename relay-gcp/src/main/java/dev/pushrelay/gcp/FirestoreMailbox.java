package dev.pushrelay.gcp;

import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.firestore.CollectionReference;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.FieldValue;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import dev.pushrelay.gcp.BatchedWrites;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Preconditions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.mailbox.ClaimDecision;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.IdUse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.MailboxCursor;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** The mailbox in Firestore: {@code mailboxes/{userId}/pending/{messageId}}, changed in transactions. */
public final class FirestoreMailbox implements Mailbox {
  public static final String MAILBOXES = "mailboxes";
  public static final String PENDING = "pending";
  /** The ids senders gave a user's messages, each with its content's fingerprint. */
  public static final String SENT_IDS = "sentIds";
  private static final String FINGERPRINT = "fingerprint";
  /** How many times sockets claimed an entry ({@link Mailbox#MAX_CLAIMS}). */
  static final String CLAIMS = "claims";
  /** How long a delivered tombstone stays for the route function to see. */
  static final Duration TOMBSTONE_TTL = Duration.ofHours(1);

  private final Firestore db;
  private final RelayMetrics metrics;
  private final MailboxClaims claims;

  /** Counts the documents it reads and writes in {@code metrics}. */
  public FirestoreMailbox(Firestore db, RelayMetrics metrics) {
    this(db, metrics, MailboxClaims.CLAIM_LIMIT);
  }

  /** The same, with a look reading at most {@code claimLimit} entries of each kind (a test's smaller one). */
  FirestoreMailbox(Firestore db, RelayMetrics metrics, int claimLimit) {
    this.db = db;
    this.metrics = metrics;
    this.claims = new MailboxClaims(db, metrics, claimLimit);
  }

  private CollectionReference pending(String userId) {
    return db.collection(MAILBOXES).document(userId).collection(PENDING);
  }

  @Override
  public CompletableFuture<ParkOutcome> park(RelayMessage m, int attemptHint, boolean exact, int maxAttempts,
      Instant now) {
    DocumentReference ref = pending(m.userId()).document(m.id());
    metrics.firestoreReads(1);
    return Completions.of(db.runTransaction(tx -> {
      DocumentSnapshot doc = tx.get(ref).get();
      String state = doc.exists() ? doc.getString("state") : null;
      if (Mailbox.STATE_DELIVERED.equals(state)) {
        // the tombstone stays until its TTL, so a duplicate push of this message is settled as well
        return new Parked(ParkOutcome.ALREADY_DELIVERED, false);
      }
      if (Mailbox.STATE_DEAD_LETTERED.equals(state)) {
        return new Parked(ParkOutcome.ALREADY_DEAD_LETTERED, false);
      }
      boolean freshClaim = ClaimDecision.held(state, Timestamps.instantOrNull(doc.getTimestamp("claimedAt")), now);
      // an entry routed live is parked afresh, as if it were not there: its socket closed on it unacked
      boolean there = doc.exists() && !Mailbox.STATE_ROUTED.equals(state);
      long recorded = there && doc.getLong("attempts") != null ? doc.getLong("attempts") : 0;
      long attempt = exact ? attemptHint : Math.max(recorded + 1, attemptHint);
      Long claims = there ? doc.getLong(CLAIMS) : null;
      if (attempt >= maxAttempts) {
        // a claim for a socket: it is writing the entry now; a claim for the dead-letter topic (past
        // MAX_CLAIMS) may die with its node, and with no retry left the entry would wait for nobody
        if (freshClaim && (claims == null || claims <= Mailbox.MAX_CLAIMS)) {
          // A socket is writing it this very moment: count it as delivered rather than dead-letter it.
          return new Parked(ParkOutcome.ALREADY_DELIVERED, false);
        }
        if (doc.exists()) {
          tx.delete(ref);
        }
        return new Parked(ParkOutcome.FINAL, doc.exists());
      }
      if (doc.exists() && (freshClaim || Mailbox.STATE_PENDING.equals(state))) {
        ParkOutcome outcome = freshClaim ? ParkOutcome.CLAIMED : ParkOutcome.STILL_PARKED;
        if (exact) {
          return new Parked(outcome, false);
        }
        tx.update(ref, "attempts", attempt);
        return new Parked(outcome, true);
      }
      Map<String, Object> entry = entry(m, attempt, now);
      if (claims != null) {
        entry.put(CLAIMS, claims); // a claim that ran out still counts
      }
      tx.set(ref, entry);
      return new Parked(ParkOutcome.PARKED, true);
    })).thenApply(parked -> {
      metrics.firestoreWrites(parked.wrote() ? 1 : 0);
      return parked.outcome();
    });
  }

  private static Map<String, Object> entry(RelayMessage m, long attempt, Instant now) {
    Map<String, Object> entry = new HashMap<>();
    entry.put("message", m.toJson());
    entry.put("sentAt", Timestamps.of(m.sentAt()));
    entry.put("expiresAt", Timestamps.of(m.expiresAt()));
    entry.put("parkedAt", Timestamps.of(now));
    entry.put("attempts", attempt);
    entry.put("state", Mailbox.STATE_PENDING);
    if (!m.trace().isEmpty()) {
      entry.put("trace", m.trace());
    }
    return entry;
  }

  /**
   * {@code mailboxes/{userId}/sentIds/{id}}: a create, and a read of the record when one is there; the
   * collection group's TTL policy ({@code sentIds_ttl} in terraform/firestore.tf) deletes it at
   * {@code expiresAt}.
   */
  @Override
  public CompletableFuture<IdUse> recordId(String userId, String id, String fingerprint, Instant expiresAt) {
    DocumentReference ref = db.collection(MAILBOXES).document(userId).collection(SENT_IDS).document(id);
    Map<String, Object> record = Map.of(FINGERPRINT, fingerprint, "expiresAt", Timestamps.of(expiresAt));
    metrics.firestoreWrites(1);
    return Completions.of(ref.create(record))
        .thenApply(r -> IdUse.FIRST)
        .exceptionallyCompose(e -> {
          if (!Preconditions.exists(e)) {
            return CompletableFuture.failedFuture(e);
          }
          metrics.firestoreReads(1);
          return Completions.of(ref.get()).thenCompose(doc -> {
            Instant until = Timestamps.instantOrNull(doc.getTimestamp("expiresAt"));
            if (doc.exists() && until != null && until.isBefore(Instant.now())) {
              // the record outlived its message (TTL deletion lags): the id is free again; a record that
              // changed meanwhile is looked at afresh
              metrics.firestoreWrites(1);
              return Completions.of(ref.update(record, Precondition.updatedAt(doc.getUpdateTime())))
                  .thenApply(r -> IdUse.FIRST)
                  .exceptionallyCompose(lost -> Preconditions.lost(lost)
                      ? recordId(userId, id, fingerprint, expiresAt) : CompletableFuture.failedFuture(lost));
            }
            return CompletableFuture.completedFuture(fingerprint.equals(doc.getString(FINGERPRINT))
                ? IdUse.SAME_CONTENT : IdUse.OTHER_CONTENT);
          });
        });
  }

  /**
   * One write, no read: a create that fails when the entry exists already (a sender's retry, a second
   * re-route), which then takes the transaction of {@link #park}.
   */
  @Override
  public CompletableFuture<ParkOutcome> parkNew(RelayMessage m, Instant now) {
    DocumentReference ref = pending(m.userId()).document(m.id());
    return parkedOrThere(m, now, Completions.of(ref.create(entry(m, 0, now))));
  }

  /** The creates sent together ({@link BatchedWrites}); an entry that exists takes {@link #park}, as above. */
  @Override
  public List<CompletableFuture<ParkOutcome>> parkAllNew(List<RelayMessage> messages, Instant now) {
    BatchedWrites creates = new BatchedWrites(db);
    List<CompletableFuture<ParkOutcome>> each = new ArrayList<>(messages.size());
    for (RelayMessage m : messages) {
      each.add(parkedOrThere(m, now, creates.create(pending(m.userId()).document(m.id()), entry(m, 0, now))));
    }
    creates.send();
    return each;
  }

  /** A create's outcome: parked, or what the transaction of {@link #park} says of the entry that was there. */
  private CompletableFuture<ParkOutcome> parkedOrThere(RelayMessage m, Instant now, CompletableFuture<?> create) {
    metrics.firestoreWrites(1);
    return create.thenApply(r -> ParkOutcome.PARKED)
        .exceptionallyCompose(e -> Preconditions.exists(e)
            ? park(m, 0, true, Integer.MAX_VALUE, now)
            : CompletableFuture.failedFuture(e));
  }

  /** What a park transaction decided, and whether it wrote the entry. */
  private record Parked(ParkOutcome outcome, boolean wrote) {}

  @Override
  public CompletableFuture<Void> routedLive(String userId, String messageId, Instant now) {
    DocumentReference ref = pending(userId).document(messageId);
    metrics.firestoreReads(1);
    return Completions.of(db.runTransaction(tx -> {
      DocumentSnapshot doc = tx.get(ref).get();
      boolean pending = doc.exists() && Mailbox.STATE_PENDING.equals(doc.getString("state"));
      if (pending) {
        tx.update(ref, Map.of("state", Mailbox.STATE_ROUTED, "claimedBy", Mailbox.ROUTE, "claimedAt",
            Timestamps.of(now), "expiresAt", Timestamps.of(now.plus(TOMBSTONE_TTL))));
      }
      return pending;
    })).thenAccept(marked -> {
      if (marked) {
        metrics.firestoreWrites(1);
      }
    });
  }

  @Override
  public CompletableFuture<Void> discard(String userId, String messageId) {
    metrics.firestoreWrites(1);
    return Completions.of(pending(userId).document(messageId).delete()).thenApply(r -> null);
  }

  /** Claims for one socket: see {@link MailboxClaims}. */
  @Override
  public CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now) {
    return claims.claim(pending(userId), connectionId, now);
  }

  @Override
  public CompletableFuture<Claimed> claimAfter(String userId, String connectionId, Instant now,
      MailboxCursor after) {
    return claims.claimAfter(pending(userId), connectionId, now, after);
  }

  @Override
  public CompletableFuture<Claimed> claimNew(String userId, String connectionId, Instant now) {
    return claims.claimNew(pending(userId), connectionId, now);
  }

  @Override
  public CompletableFuture<Void> delivered(String userId, List<String> messageIds, Instant now) {
    metrics.firestoreWrites(messageIds.size());
    return eachEntry(userId, messageIds, Map.of("state", Mailbox.STATE_DELIVERED, "deliveredAt",
        Timestamps.of(now), "expiresAt", Timestamps.of(now.plus(TOMBSTONE_TTL))));
  }

  @Override
  public CompletableFuture<Void> deadLettered(String userId, String messageId, Instant now) {
    metrics.firestoreWrites(1);
    return eachEntry(userId, List.of(messageId), Map.of("state", Mailbox.STATE_DEAD_LETTERED, "deadLetteredAt",
        Timestamps.of(now), "expiresAt", Timestamps.of(now.plus(TOMBSTONE_TTL)), "claimedBy", FieldValue.delete(),
        "claimedAt", FieldValue.delete()));
  }

  /**
   * Each entry is read, and put back only while {@code connectionId} still holds its claim, by a write
   * conditional on the read (its update time): a late hand-back must never turn a delivered tombstone
   * back to pending, or take another socket's claim. Releases are rare (a socket closed unacked), so the
   * read is cheap insurance.
   */
  @Override
  public CompletableFuture<Void> release(String userId, String connectionId, List<String> messageIds,
      boolean written) {
    Map<String, Object> pending = new HashMap<>(Map.of("state", Mailbox.STATE_PENDING,
        "claimedBy", FieldValue.delete(), "claimedAt", FieldValue.delete()));
    if (!written) {
      pending.put(CLAIMS, FieldValue.increment(-1)); // the claim handed the client nothing
    }
    metrics.firestoreReads(messageIds.size());
    CompletableFuture<?>[] each = messageIds.stream().map(id -> {
      DocumentReference ref = pending(userId).document(id);
      return Completions.of(ref.get()).thenCompose(doc -> {
        if (!doc.exists() || !Mailbox.STATE_CLAIMED.equals(doc.getString("state"))
            || !connectionId.equals(doc.getString("claimedBy"))) {
          return CompletableFuture.completedFuture(null); // no longer this socket's claim
        }
        metrics.firestoreWrites(1);
        // changed or gone since the read: not ours to release
        return Completions.of(ref.update(pending, Precondition.updatedAt(doc.getUpdateTime())))
            .handle(FirestoreMailbox::changedOrGone);
      });
    }).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(each);
  }

  /**
   * The same update of each entry, sent together but each on its own, so that one entry the route
   * function has already removed (expired, replayed) does not fail the others; a missing entry
   * is fine.
   */
  private CompletableFuture<Void> eachEntry(String userId, List<String> messageIds, Map<String, Object> fields) {
    BatchedWrites writes = messageIds.size() > 1 ? new BatchedWrites(db) : null; // one write goes as it is
    CompletableFuture<?>[] each = messageIds.stream()
        .map(id -> (writes == null ? Completions.of(pending(userId).document(id).update(fields))
            : writes.update(pending(userId).document(id), fields)).handle(FirestoreMailbox::changedOrGone))
        .toArray(CompletableFuture[]::new);
    if (writes != null) {
      writes.send();
    }
    return CompletableFuture.allOf(each);
  }

  /** An entry's update that failed only because the entry changed or went since: done, as nothing is left to do. */
  private static Void changedOrGone(Object result, Throwable e) {
    if (e != null && !(unwrap(e) instanceof NotFoundException) && !Preconditions.lost(e)) {
      throw new CompletionException(e);
    }
    return null;
  }

  private static Throwable unwrap(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

}
