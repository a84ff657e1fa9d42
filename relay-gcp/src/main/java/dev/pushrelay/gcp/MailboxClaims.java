package dev.pushrelay.gcp;

import com.google.cloud.firestore.CollectionReference;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.DocumentSnapshot;
import com.google.cloud.firestore.FieldPath;
import com.google.cloud.firestore.FieldValue;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import com.google.cloud.firestore.Query;
import com.google.cloud.firestore.QueryDocumentSnapshot;
import dev.pushrelay.mailbox.ClaimDecision;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.MailboxCursor;
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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A socket's look into its user's mailbox ({@code mailboxes/{userId}/pending}, see {@link FirestoreMailbox}):
 * which entries it reads, and what it claims, hands again or shares of them, as {@link ClaimDecision} says.
 */
final class MailboxClaims {
  private static final Logger LOG = LoggerFactory.getLogger(MailboxClaims.class);
  /** How many waiting entries a page of a catch-up reads. */
  static final int CLAIM_LIMIT = 50;
  /**
   * How many entries a later look reads (what waits, from the first), and any look of the shared window: a
   * live socket's own unacked claims come first in what waits, and must not hide a message parked after them.
   */
  static final int LOOK_LIMIT = 500;
  /** How many characters of messages a look hands over at most (always at least one entry). */
  static final int PAGE_CHARS = 1 << 20;
  /** Times an entry that changed under a claim is read and decided again. */
  private static final int CLAIM_RETRIES = 3;
  /** Whether this process has logged that a catch-up's index is missing (once is enough). */
  private static final java.util.concurrent.atomic.AtomicBoolean INDEX_MISSING_TOLD =
      new java.util.concurrent.atomic.AtomicBoolean();

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
   * A look is a page: see {@link Page}.
   */
  CompletableFuture<Claimed> claim(CollectionReference mailbox, String connectionId, Instant now) {
    return page(mailbox, connectionId, now, null, true);
  }

  /** The page of a catch-up after {@code after}. */
  CompletableFuture<Claimed> claimAfter(CollectionReference mailbox, String connectionId, Instant now,
      MailboxCursor after) {
    return page(mailbox, connectionId, now, after, true);
  }

  /**
   * Pending and claimed entries only, not the delivered tombstones: the look a live socket takes again
   * after its catch-up.
   */
  CompletableFuture<Claimed> claimNew(CollectionReference mailbox, String connectionId, Instant now) {
    return page(mailbox, connectionId, now, null, false);
  }

  /**
   * What waits after {@code after} (from the first entry when null), oldest first, and, when
   * {@code shared}, what another socket of the user claimed within the shared window (delivered since, or
   * not), which is shared. Older tombstones are never read: a user with many of them neither pays for
   * them nor has them crowd out what waits.
   */
  private CompletableFuture<Claimed> page(CollectionReference mailbox, String connectionId, Instant now,
      MailboxCursor after, boolean shared) {
    int widest = Math.max(claimLimit, LOOK_LIMIT);
    CompletableFuture<List<QueryDocumentSnapshot>> recent = shared
        ? claimedRecently(mailbox, now, after, widest) : CompletableFuture.completedFuture(List.of());
    int limit = shared ? claimLimit : widest;
    return read(waiting(mailbox, after, limit)).thenCombine(recent, (w, r) -> Page.of(w, r, after, limit))
        .thenCompose(page -> claimFrom(page.docs(), connectionId, now)
            .thenApply(claimed -> page.next().map(claimed::withNext).orElse(claimed)));
  }

  /**
   * The entries one look claims from, in the order the socket writes them, and where the next page
   * starts when there is more: the look read as many waiting entries as it may ({@code claimLimit}), or
   * their messages pass {@link #PAGE_CHARS}. So a catch-up holds one page in memory at a time, whatever
   * the mailbox holds. An entry past the last waiting one read is left to the next page, so that a
   * cursor never passes a waiting entry no look has read.
   */
  private record Page(List<QueryDocumentSnapshot> docs, Optional<MailboxCursor> next) {
    static Page of(List<QueryDocumentSnapshot> waiting, List<QueryDocumentSnapshot> recent, MailboxCursor after,
        int limit) {
      MailboxCursor lastRead = waiting.size() >= limit ? key(waiting.get(waiting.size() - 1)) : null;
      List<QueryDocumentSnapshot> docs = new ArrayList<>(byId(waiting, recent));
      docs.removeIf(d -> after != null && key(d).compareTo(after) <= 0
          || lastRead != null && key(d).compareTo(lastRead) > 0);
      docs.sort(java.util.Comparator.comparing(MailboxClaims::key));
      long chars = 0;
      int kept = 0;
      for (QueryDocumentSnapshot d : docs) {
        String message = d.getString("message");
        chars += message == null ? 0 : message.length();
        if (kept > 0 && chars > PAGE_CHARS) {
          break;
        }
        kept++;
      }
      List<QueryDocumentSnapshot> page = List.copyOf(docs.subList(0, kept));
      boolean more = kept < docs.size() || lastRead != null;
      return new Page(page, more && !page.isEmpty() ? Optional.of(key(page.get(page.size() - 1)))
          : Optional.empty());
    }
  }

  /** Where an entry sits in the order a mailbox is read. */
  private static MailboxCursor key(DocumentSnapshot d) {
    Instant sentAt = Timestamps.instantOrNull(d.getTimestamp("sentAt"));
    return new MailboxCursor(sentAt == null ? Instant.EPOCH : sentAt, d.getId());
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
  private Query waiting(CollectionReference mailbox, MailboxCursor after, int limit) {
    Query q = mailbox.whereIn("state", List.of(Mailbox.STATE_PENDING, Mailbox.STATE_CLAIMED))
        .orderBy("sentAt").orderBy(FieldPath.documentId());
    if (after != null) {
      q = q.startAfter(Timestamps.of(after.sentAt()), mailbox.document(after.id()));
    }
    return q.limit(limit);
  }

  /**
   * What the user's sockets claimed within the shared window, from {@code after}'s time on: a page of a
   * catch-up drops whatever is behind its cursor, and without that second range the query read again
   * every entry this same catch-up claimed on its earlier pages (50 more documents a page). The composite
   * index {@code pending_claimed_since} in terraform/firestore.tf serves the two ranges. A release's canary
   * runs before its Terraform builds that index: while Firestore refuses the query for want of it, the page
   * reads the window whole, as before.
   */
  private CompletableFuture<List<QueryDocumentSnapshot>> claimedRecently(CollectionReference mailbox, Instant now,
      MailboxCursor after, int limit) {
    Query window = mailbox.whereGreaterThanOrEqualTo("claimedAt", Timestamps.of(now.minus(Mailbox.SHARED_WINDOW)));
    if (after == null) {
      return read(window.limit(limit));
    }
    return read(window.whereGreaterThanOrEqualTo("sentAt", Timestamps.of(after.sentAt())).limit(limit))
        .exceptionallyCompose(e -> {
          if (!Preconditions.indexMissing(e)) {
            return CompletableFuture.failedFuture(e);
          }
          if (INDEX_MISSING_TOLD.compareAndSet(false, true)) {
            LOG.warn("the mailbox index pending_claimed_since is not built yet (terraform apply builds it): "
                + "catch-up pages read the shared window whole until it is: {}", e.toString());
          }
          return read(window.limit(limit));
        });
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

  /** Claims, hands again or shares each of {@code docs}, in their order. */
  private CompletableFuture<Claimed> claimFrom(List<QueryDocumentSnapshot> docs, String connectionId, Instant now) {
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
