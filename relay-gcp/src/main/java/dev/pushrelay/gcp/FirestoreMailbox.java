package dev.pushrelay.gcp;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.firestore.CollectionReference;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.FieldValue;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import dev.pushrelay.gcp.BatchedWrites;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.Preconditions;
import dev.pushrelay.gcp.Timestamps;
import dev.pushrelay.mailbox.ClaimDecision;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.mailbox.ParkedMessage;
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
  /** How many times sockets claimed an entry ({@link Mailbox#MAX_CLAIMS}). */
  static final String CLAIMS = "claims";
  /** How long a delivered tombstone stays for the route function to see. */
  static final Duration TOMBSTONE_TTL = Duration.ofHours(1);
  /** How many entries a look reads of each kind (waiting; recently claimed). */
  static final int CLAIM_LIMIT = 500;
  /** Times an entry that changed under a claim is read and decided again. */
  private static final int CLAIM_RETRIES = 3;

  private final Firestore db;
  private final RelayMetrics metrics;
  private final int claimLimit;

  /** Counts the documents it reads and writes in {@code metrics}. */
  public FirestoreMailbox(Firestore db, RelayMetrics metrics) {
    this(db, metrics, CLAIM_LIMIT);
  }

  /** The same, with a look reading at most {@code claimLimit} entries of each kind (a test's smaller one). */
  FirestoreMailbox(Firestore db, RelayMetrics metrics, int claimLimit) {
    this.db = db;
    this.metrics = metrics;
    this.claimLimit = claimLimit;
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
      long recorded = doc.exists() && doc.getLong("attempts") != null ? doc.getLong("attempts") : 0;
      long attempt = exact ? attemptHint : Math.max(recorded + 1, attemptHint);
      Long claims = doc.exists() ? doc.getLong(CLAIMS) : null;
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
   * One write, no read: a create that fails when the entry exists already (a sender's retry, a second
   * re-route), which then takes the transaction of {@link #park}.
   */
  @Override
  public CompletableFuture<ParkOutcome> parkNew(RelayMessage m, Instant now) {
    DocumentReference ref = pending(m.userId()).document(m.id());
    metrics.firestoreWrites(1);
    return Completions.of(ref.create(entry(m, 0, now))).thenApply(r -> ParkOutcome.PARKED)
        .exceptionallyCompose(e -> Completions.causedBy(e, AlreadyExistsException.class)
            ? park(m, 0, true, Integer.MAX_VALUE, now)
            : CompletableFuture.failedFuture(e));
  }

  /** What a park transaction decided, and whether it wrote the entry. */
  private record Parked(ParkOutcome outcome, boolean wrote) {}

  @Override
  public CompletableFuture<Void> discardPending(String userId, String messageId) {
    DocumentReference ref = pending(userId).document(messageId);
    metrics.firestoreReads(1);
    return Completions.of(db.runTransaction(tx -> {
      DocumentSnapshot doc = tx.get(ref).get();
      boolean pending = doc.exists() && Mailbox.STATE_PENDING.equals(doc.getString("state"));
      if (pending) {
        tx.delete(ref);
      }
      return pending;
    })).thenAccept(deleted -> {
      if (deleted) {
        metrics.firestoreWrites(1);
      }
    });
  }

  @Override
  public CompletableFuture<Void> discard(String userId, String messageId) {
    metrics.firestoreWrites(1);
    return Completions.of(pending(userId).document(messageId).delete()).thenApply(r -> null);
  }

  /**
   * Claims without a transaction: two queries for the user's entries (below), then one write per
   * claimable entry (sent together, see {@link BatchedWrites}), conditional on the entry being unchanged
   * since the query (its update time). A transaction over the queries would hold the whole mailbox against
   * the route function's parking of new messages, and both sides then abort each other under churn; here
   * an entry that changed meanwhile is read again and decided again, and nothing else waits. One claim
   * that fails fails the look: the socket's next look hands over the claims this one wrote, as its own.
   */
  @Override
  public CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now) {
    // what waits, oldest first, and what another socket of the user claimed within the shared window
    // (delivered since, or not), which is shared. Older tombstones are never read: a user with many of
    // them neither pays for them nor has them crowd out what waits
    CompletableFuture<List<QueryDocumentSnapshot>> recent = read(pending(userId)
        .whereGreaterThanOrEqualTo("claimedAt", Timestamps.of(now.minus(Mailbox.SHARED_WINDOW))).limit(claimLimit));
    return claimFrom(read(waiting(userId)).thenCombine(recent, FirestoreMailbox::byId), connectionId, now);
  }

  /**
   * Pending and claimed entries only, not the delivered tombstones: the look a live socket takes again
   * after its catch-up.
   */
  @Override
  public CompletableFuture<Claimed> claimNew(String userId, String connectionId, Instant now) {
    return claimFrom(read(waiting(userId)), connectionId, now);
  }

  /** The query's documents, counted as read (a query that finds none costs one read). */
  private CompletableFuture<List<QueryDocumentSnapshot>> read(com.google.cloud.firestore.Query query) {
    return Completions.of(query.get()).thenApply(q -> {
      metrics.firestoreReads(Math.max(1, q.size()));
      return q.getDocuments();
    });
  }

  /**
   * The entries that wait (pending, or claimed and maybe not written yet), the oldest {@code claimLimit}
   * of them: the composite index {@code pending_by_state} in terraform/firestore.tf serves it.
   */
  private com.google.cloud.firestore.Query waiting(String userId) {
    return pending(userId).whereIn("state", List.of(Mailbox.STATE_PENDING, Mailbox.STATE_CLAIMED))
        .orderBy("sentAt").limit(claimLimit);
  }

  /** The documents of both reads, each once: the later read of an entry both found. */
  private static List<QueryDocumentSnapshot> byId(List<QueryDocumentSnapshot> a, List<QueryDocumentSnapshot> b) {
    Map<String, QueryDocumentSnapshot> docs = new HashMap<>();
    for (QueryDocumentSnapshot d : a) {
      docs.put(d.getId(), d);
    }
    for (QueryDocumentSnapshot d : b) {
      docs.merge(d.getId(), d, (x, y) -> x.getUpdateTime().compareTo(y.getUpdateTime()) >= 0 ? x : y);
    }
    return List.copyOf(docs.values());
  }

  private CompletableFuture<Claimed> claimFrom(CompletableFuture<List<QueryDocumentSnapshot>> read,
      String connectionId, Instant now) {
    return read.thenCompose(found -> {
      List<QueryDocumentSnapshot> docs = new ArrayList<>(found);
      docs.sort(java.util.Comparator.comparing((QueryDocumentSnapshot d) -> d.getTimestamp("sentAt"),
              java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder()))
          .thenComparing(QueryDocumentSnapshot::getId));
      List<CompletableFuture<Decided>> each = new ArrayList<>(docs.size());
      BatchedWrites claims = new BatchedWrites(db);
      for (QueryDocumentSnapshot doc : docs) {
        each.add(claimOne(doc, connectionId, now, CLAIM_RETRIES, claims::update));
      }
      claims.send();
      return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(v -> {
        List<ParkedMessage> handed = new ArrayList<>();
        List<RelayMessage> handedBack = new ArrayList<>();
        List<Instant> heldUntil = new ArrayList<>();
        for (CompletableFuture<Decided> f : each) {
          Decided d = f.join();
          if (d.message() != null && d.forDeadLetter()) {
            handedBack.add(d.message().message());
          } else if (d.message() != null) {
            handed.add(d.message());
          }
          if (d.heldUntil() != null) {
            heldUntil.add(d.heldUntil());
          }
        }
        return Claimed.of(handed, heldUntil, handedBack);
      });
    });
  }

  /**
   * What a look decided of one entry: the message it hands the socket (null: none), and until when
   * another socket's claim holds the entry (null: no such claim); {@code forDeadLetter}: the message was
   * claimed for the dead-letter topic, not for the socket.
   */
  private record Decided(ParkedMessage message, Instant heldUntil, boolean forDeadLetter) {
    static final Decided NONE = new Decided(null, null, false);

    Decided(ParkedMessage message, Instant heldUntil) {
      this(message, heldUntil, false);
    }
  }

  /** A conditional update: of a batch, or one call of its own. */
  private interface ClaimWrite {
    CompletableFuture<?> update(DocumentReference ref, Map<String, Object> fields, Precondition precondition);
  }

  /**
   * Claims one entry, hands it again or shares it, as {@link ClaimDecision} says; the claim is written by
   * {@code write}, and an entry that changed meanwhile is read and decided again with a write of its own.
   */
  private CompletableFuture<Decided> claimOne(DocumentSnapshot doc, String connectionId, Instant now, int retries,
      ClaimWrite write) {
    if (!doc.exists()) {
      return CompletableFuture.completedFuture(Decided.NONE);
    }
    Long claims = doc.getLong(CLAIMS);
    ClaimDecision decision = ClaimDecision.of(doc.getString("state"), doc.getString("claimedBy"),
        Timestamps.instantOrNull(doc.getTimestamp("claimedAt")),
        Timestamps.instantOrNull(doc.getTimestamp("expiresAt")), claims == null ? 0 : claims, connectionId, now);
    if (decision.kind() == ClaimDecision.Kind.LEAVE) {
      return CompletableFuture.completedFuture(new Decided(null, decision.heldUntil()));
    }
    RelayMessage m = decode(doc);
    if (m == null) {
      return CompletableFuture.completedFuture(Decided.NONE);
    }
    RelayMessage message = m.withTrace(trace(doc));
    if (decision.kind() == ClaimDecision.Kind.HAND_AGAIN || decision.kind() == ClaimDecision.Kind.SHARE) {
      // shared: written here too, settled by its claimer; handed again: claimed by a look of this socket
      // whose answer came after the socket stopped waiting for it, so nobody had it yet
      boolean own = decision.kind() == ClaimDecision.Kind.HAND_AGAIN;
      return CompletableFuture.completedFuture(new Decided(new ParkedMessage(message, own), decision.heldUntil()));
    }
    // a claim for the socket, or for the dead-letter topic (held like any claim while it is published)
    boolean forDeadLetter = decision.kind() == ClaimDecision.Kind.DEAD_LETTER;
    metrics.firestoreWrites(1);
    Map<String, Object> claim = Map.of("state", Mailbox.STATE_CLAIMED, "claimedBy", connectionId,
        "claimedAt", Timestamps.of(now), CLAIMS, FieldValue.increment(1));
    return write.update(doc.getReference(), claim, Precondition.updatedAt(doc.getUpdateTime()))
        // a claim for the dead-letter topic is looked at again when it runs out, should its dead letter fail
        .thenApply(r -> new Decided(new ParkedMessage(message, true),
            forDeadLetter ? now.plus(Mailbox.CLAIM_TIMEOUT) : null, forDeadLetter))
        .exceptionallyCompose(e -> {
          // the conditional write lost: the entry changed (or went) since it was read
          if (!Preconditions.lost(e) || retries == 0) {
            return CompletableFuture.failedFuture(e);
          }
          // the route function counted an attempt, or another socket claimed it: read it and decide again
          metrics.firestoreReads(1);
          return Completions.of(doc.getReference().get())
              .thenCompose(fresh -> claimOne(fresh, connectionId, now, retries - 1,
                  (ref, fields, precondition) -> Completions.of(ref.update(fields, precondition))));
        });
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
        return Completions.of(ref.update(pending, Precondition.updatedAt(doc.getUpdateTime())))
            .handle((r, e) -> {
              if (e != null && !Preconditions.lost(e)) { // lost: it changed since, and is not ours to release
                throw new CompletionException(e);
              }
              return null;
            });
      });
    }).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(each);
  }

  /**
   * The same update of each entry, sent together but each on its own, so that one entry the route
   * function has already removed (routed live and discarded) does not fail the others; a missing entry
   * is fine.
   */
  private CompletableFuture<Void> eachEntry(String userId, List<String> messageIds, Map<String, Object> fields) {
    BatchedWrites writes = messageIds.size() > 1 ? new BatchedWrites(db) : null; // one write goes as it is
    CompletableFuture<?>[] each = messageIds.stream()
        .map(id -> (writes == null ? Completions.of(pending(userId).document(id).update(fields))
            : writes.update(pending(userId).document(id), fields)).handle((r, e) -> {
          if (e != null && !(unwrap(e) instanceof NotFoundException) && !Preconditions.lost(e)) {
            throw new CompletionException(e);
          }
          return null;
        }))
        .toArray(CompletableFuture[]::new);
    if (writes != null) {
      writes.send();
    }
    return CompletableFuture.allOf(each);
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
