package dev.pushrelay.gcp;

import com.google.cloud.firestore.CollectionReference;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.FieldValue;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import com.google.cloud.firestore.Query;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import dev.pushrelay.mailbox.ClaimDecision;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkedMessage;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.RelayMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A socket's look into its user's mailbox ({@code mailboxes/{userId}/pending}, see {@link FirestoreMailbox}):
 * which entries it reads, and what it claims, hands again or shares of them, as {@link ClaimDecision} says.
 */
final class MailboxClaims {
  private static final Logger LOG = LoggerFactory.getLogger(MailboxClaims.class);
  /** How many entries a look reads of each kind (waiting; recently claimed). */
  static final int CLAIM_LIMIT = 500;
  /** Times an entry that changed under a claim is read and decided again. */
  private static final int CLAIM_RETRIES = 3;

  private final Firestore db;
  private final RelayMetrics metrics;
  private final int claimLimit;

  MailboxClaims(Firestore db, RelayMetrics metrics, int claimLimit) {
    this.db = db;
    this.metrics = metrics;
    this.claimLimit = claimLimit;
  }

  /**
   * Claims without a transaction: two queries for the user's entries (below), then one write per
   * claimable entry (sent together, see {@link BatchedWrites}), conditional on the entry being unchanged
   * since the query (its update time). A transaction over the queries would hold the whole mailbox against
   * the route function's parking of new messages, and both sides then abort each other under churn; here
   * an entry that changed meanwhile is read again and decided again, and nothing else waits. One claim
   * that fails fails the look: the socket's next look hands over the claims this one wrote, as its own.
   */
  CompletableFuture<Claimed> claim(CollectionReference mailbox, String connectionId, Instant now) {
    // what waits, oldest first, and what another socket of the user claimed within the shared window
    // (delivered since, or not), which is shared. Older tombstones are never read: a user with many of
    // them neither pays for them nor has them crowd out what waits
    CompletableFuture<List<QueryDocumentSnapshot>> recent = read(mailbox
        .whereGreaterThanOrEqualTo("claimedAt", Timestamps.of(now.minus(Mailbox.SHARED_WINDOW))).limit(claimLimit));
    return claimFrom(read(waiting(mailbox)).thenCombine(recent, MailboxClaims::byId), connectionId, now);
  }

  /**
   * Pending and claimed entries only, not the delivered tombstones: the look a live socket takes again
   * after its catch-up.
   */
  CompletableFuture<Claimed> claimNew(CollectionReference mailbox, String connectionId, Instant now) {
    return claimFrom(read(waiting(mailbox)), connectionId, now);
  }

  /** The query's documents, counted as read (a query that finds none costs one read). */
  private CompletableFuture<List<QueryDocumentSnapshot>> read(Query query) {
    return Completions.of(query.get()).thenApply(q -> {
      metrics.firestoreReads(Math.max(1, q.size()));
      return q.getDocuments();
    });
  }

  /**
   * The entries that wait (pending, or claimed and maybe not written yet), the oldest {@code claimLimit}
   * of them: the composite index {@code pending_by_state} in terraform/firestore.tf serves it.
   */
  private Query waiting(CollectionReference mailbox) {
    return mailbox.whereIn("state", List.of(Mailbox.STATE_PENDING, Mailbox.STATE_CLAIMED))
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
    Long claims = doc.getLong(FirestoreMailbox.CLAIMS);
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
        "claimedAt", Timestamps.of(now), FirestoreMailbox.CLAIMS, FieldValue.increment(1));
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
}
