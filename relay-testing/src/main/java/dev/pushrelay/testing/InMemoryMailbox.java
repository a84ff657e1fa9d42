package dev.pushrelay.testing;

import dev.pushrelay.mailbox.ClaimDecision;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.IdUse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.mailbox.ParkedMessage;
import dev.pushrelay.model.RelayMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** In-memory mailbox seam for unit tests: the same states and claim expiry as the Firestore one. */
public final class InMemoryMailbox implements Mailbox {
  /** One entry: the message, its state and how many attempts found nobody. */
  public record Entry(RelayMessage message, String state, int attempts, Map<String, String> trace, String claimedBy,
      Instant claimedAt) {
    Entry with(String newState, int newAttempts) {
      return new Entry(message, newState, newAttempts, trace, claimedBy, claimedAt);
    }
  }

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  /** How many times sockets claimed each entry, as the Firestore one counts in the entry. */
  private final Map<String, Integer> claims = new HashMap<>();

  private final Map<String, String> sentIds = new HashMap<>();

  @Override
  public synchronized CompletableFuture<IdUse> recordId(String userId, String id, String fingerprint,
      Instant expiresAt) {
    String seen = sentIds.putIfAbsent(key(userId, id), fingerprint);
    return CompletableFuture.completedFuture(seen == null ? IdUse.FIRST
        : seen.equals(fingerprint) ? IdUse.SAME_CONTENT : IdUse.OTHER_CONTENT);
  }

  private static String key(String userId, String messageId) {
    return userId + "/" + messageId;
  }

  @Override
  public synchronized CompletableFuture<ParkOutcome> park(RelayMessage m, int attemptHint, boolean exact,
      int maxAttempts, Instant now) {
    String key = key(m.userId(), m.id());
    Entry e = entries.get(key);
    if (e != null && e.state().equals(Mailbox.STATE_ROUTED)) {
      entries.remove(key); // routed live, and back: parked afresh
      claims.remove(key);
      e = null;
    }
    if (e != null && e.state().equals("delivered")) {
      return CompletableFuture.completedFuture(ParkOutcome.ALREADY_DELIVERED);
    }
    if (e != null && e.state().equals("dead_lettered")) {
      return CompletableFuture.completedFuture(ParkOutcome.ALREADY_DEAD_LETTERED);
    }
    int attempt = exact ? attemptHint : Math.max(e == null ? 1 : e.attempts() + 1, attemptHint);
    if (e != null && e.state().equals("claimed") && !ClaimDecision.held(e.state(), e.claimedAt(), now)) {
      e = new Entry(e.message(), "pending", e.attempts(), e.trace(), null, null); // its claimer died
      entries.put(key, e);
    }
    if (attempt >= maxAttempts) {
      // a claim for the dead-letter topic (past MAX_CLAIMS) is not a socket writing it: the route function
      // dead-letters it itself
      if (e != null && e.state().equals("claimed") && claims.getOrDefault(key, 0) <= Mailbox.MAX_CLAIMS) {
        return CompletableFuture.completedFuture(ParkOutcome.ALREADY_DELIVERED);
      }
      entries.remove(key);
      claims.remove(key);
      return CompletableFuture.completedFuture(ParkOutcome.FINAL);
    }
    if (e != null) {
      if (!exact) {
        entries.put(key, e.with(e.state(), attempt));
      }
      return CompletableFuture.completedFuture(
          e.state().equals("claimed") ? ParkOutcome.CLAIMED : ParkOutcome.STILL_PARKED);
    }
    entries.put(key, new Entry(m, "pending", attempt, m.trace(), null, null));
    return CompletableFuture.completedFuture(ParkOutcome.PARKED);
  }

  @Override
  public synchronized CompletableFuture<Void> routedLive(String userId, String messageId, Instant now) {
    Entry e = entries.get(key(userId, messageId));
    if (e != null && e.state().equals(Mailbox.STATE_PENDING)) {
      entries.put(key(userId, messageId), new Entry(e.message(), Mailbox.STATE_ROUTED, e.attempts(), e.trace(),
          Mailbox.ROUTE, now));
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> discard(String userId, String messageId) {
    entries.remove(key(userId, messageId));
    claims.remove(key(userId, messageId));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now) {
    return look(userId, connectionId, now, true);
  }

  private CompletableFuture<Claimed> look(String userId, String connectionId, Instant now, boolean delivered) {
    List<ParkedMessage> out = new ArrayList<>();
    List<RelayMessage> handedBack = new ArrayList<>();
    List<Instant> heldUntil = new ArrayList<>();
    for (Map.Entry<String, Entry> e : entries.entrySet()) {
      Entry entry = e.getValue();
      if (!entry.message().userId().equals(userId)
          || !delivered && (entry.state().equals("delivered") || entry.state().equals(Mailbox.STATE_ROUTED))) {
        continue;
      }
      ClaimDecision decision = ClaimDecision.of(entry.state(), entry.claimedBy(), entry.claimedAt(),
          entry.message().expiresAt(), claims.getOrDefault(e.getKey(), 0), connectionId, now);
      switch (decision.kind()) {
        case CLAIM, DEAD_LETTER -> {
          e.setValue(new Entry(entry.message(), "claimed", entry.attempts(), entry.trace(), connectionId, now));
          claims.merge(e.getKey(), 1, Integer::sum);
          if (decision.kind() == ClaimDecision.Kind.DEAD_LETTER) {
            handedBack.add(entry.message());
          } else {
            out.add(new ParkedMessage(entry.message(), true));
          }
        }
        case HAND_AGAIN -> out.add(new ParkedMessage(entry.message(), true));
        case SHARE -> out.add(new ParkedMessage(entry.message(), false));
        case LEAVE -> { }
      }
      if (decision.heldUntil() != null) {
        heldUntil.add(decision.heldUntil());
      }
    }
    out.sort(Comparator.comparing(p -> p.message().sentAt()));
    return CompletableFuture.completedFuture(Claimed.of(out, heldUntil, handedBack));
  }

  /** The later looks' query: delivered entries are not read, so none is shared from them. */
  @Override
  public synchronized CompletableFuture<Claimed> claimNew(String userId, String connectionId, Instant now) {
    return look(userId, connectionId, now, false);
  }

  @Override
  public synchronized CompletableFuture<Void> delivered(String userId, List<String> messageIds, Instant now) {
    setState(userId, messageIds, "delivered");
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> deadLettered(String userId, String messageId, Instant now) {
    entries.computeIfPresent(key(userId, messageId),
        (k, e) -> new Entry(e.message(), "dead_lettered", e.attempts(), e.trace(), null, null));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> release(String userId, String connectionId, List<String> messageIds,
      boolean written) {
    for (String id : messageIds) {
      Entry e = entries.get(key(userId, id));
      if (e == null || !e.state().equals(Mailbox.STATE_CLAIMED) || !connectionId.equals(e.claimedBy())) {
        continue; // no longer this socket's claim
      }
      if (!written) {
        claims.computeIfPresent(key(userId, id), (k, n) -> Math.max(0, n - 1));
      }
      entries.put(key(userId, id), new Entry(e.message(), "pending", e.attempts(), e.trace(), null, null));
    }
    return CompletableFuture.completedFuture(null);
  }

  private void setState(String userId, List<String> ids, String state) {
    for (String id : ids) {
      entries.computeIfPresent(key(userId, id), (k, e) -> e.with(state, e.attempts()));
    }
  }

  /** How many claims of the entry count toward {@link Mailbox#MAX_CLAIMS}. */
  public synchronized int claims(String userId, String messageId) {
    return claims.getOrDefault(key(userId, messageId), 0);
  }

  public synchronized Map<String, Entry> entries() {
    return Map.copyOf(entries);
  }
}
