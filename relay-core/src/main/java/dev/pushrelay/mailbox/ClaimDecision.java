package dev.pushrelay.mailbox;

import java.time.Instant;

/**
 * What a socket's mailbox look does with one entry, the same rule for every mailbox: claim it (pending,
 * or its claim ran out), hand it again (this socket's own claim, not settled yet), share it (claimed or
 * delivered by another socket of the user within {@link Mailbox#SHARED_WINDOW}) or leave it. An entry
 * whose message expired is not claimed or handed again: the route function dead-letters it.
 *
 * @param heldUntil when the claim of another socket that holds the entry runs out; null when none does
 */
public record ClaimDecision(Kind kind, Instant heldUntil) {
  /** The four things a look may do with an entry. */
  public enum Kind { CLAIM, HAND_AGAIN, SHARE, LEAVE }

  /**
   * Decides one entry as a look of {@code connectionId} at {@code now} finds it; {@code claimedBy},
   * {@code claimedAt} and {@code expiresAt} may be null.
   */
  public static ClaimDecision of(String state, String claimedBy, Instant claimedAt, Instant expiresAt,
      String connectionId, Instant now) {
    boolean held = held(state, claimedAt, now);
    boolean own = held && connectionId.equals(claimedBy);
    Instant heldUntil = held && !own ? claimedAt.plus(FirestoreMailbox.CLAIM_TIMEOUT) : null;
    boolean expired = expiresAt != null && !expiresAt.isAfter(now);
    Kind kind;
    if (FirestoreMailbox.STATE_PENDING.equals(state) || FirestoreMailbox.STATE_CLAIMED.equals(state) && !held) {
      kind = expired ? Kind.LEAVE : Kind.CLAIM;
    } else if (own) {
      kind = expired ? Kind.LEAVE : Kind.HAND_AGAIN;
    } else {
      boolean another = claimedBy != null && !claimedBy.equals(connectionId) && claimedAt != null
          && !claimedAt.isBefore(now.minus(Mailbox.SHARED_WINDOW));
      kind = another && (held || FirestoreMailbox.STATE_DELIVERED.equals(state)) ? Kind.SHARE : Kind.LEAVE;
    }
    return new ClaimDecision(kind, heldUntil);
  }

  /** A claim that has not run out: its socket is writing the entry, or died doing so less than 30 s ago. */
  public static boolean held(String state, Instant claimedAt, Instant now) {
    return FirestoreMailbox.STATE_CLAIMED.equals(state) && claimedAt != null
        && !claimedAt.plus(FirestoreMailbox.CLAIM_TIMEOUT).isBefore(now);
  }
}
