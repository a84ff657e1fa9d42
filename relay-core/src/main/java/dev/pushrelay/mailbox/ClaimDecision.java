package dev.pushrelay.mailbox;

import java.time.Instant;

/**
 * What a socket's mailbox look does with one entry, the same rule for every mailbox: claim it (pending,
 * or its claim ran out), hand it again (this socket's own claim, not settled yet), share it (claimed or
 * delivered by another socket of the user, or routed live by a retry, within {@link Mailbox#SHARED_WINDOW})
 * or leave it. An entry
 * whose message expired is not claimed or handed again: the route function dead-letters it. An entry the
 * user's sockets claimed {@link Mailbox#MAX_CLAIMS} times already is claimed once more, for the
 * dead-letter topic, not for the socket; while that claim holds, no socket gets the entry (not its
 * claimer's either), and once it runs out (its node died before the dead letter was out) the next look
 * claims it for the dead-letter topic again.
 *
 * @param heldUntil when the claim of another socket that holds the entry runs out; null when none does
 */
public record ClaimDecision(Kind kind, Instant heldUntil) {
  /** The four things a look may do with an entry. */
  public enum Kind { CLAIM, HAND_AGAIN, SHARE, LEAVE, DEAD_LETTER }

  /**
   * Decides one entry as a look of {@code connectionId} at {@code now} finds it; {@code claimedBy},
   * {@code claimedAt} and {@code expiresAt} may be null; {@code claims}: how often sockets claimed it.
   */
  public static ClaimDecision of(String state, String claimedBy, Instant claimedAt, Instant expiresAt,
      long claims, String connectionId, Instant now) {
    boolean held = held(state, claimedAt, now);
    boolean own = held && connectionId.equals(claimedBy);
    boolean deadLettering = held && claims > Mailbox.MAX_CLAIMS;
    Instant heldUntil = held && (!own || deadLettering) ? claimedAt.plus(Mailbox.CLAIM_TIMEOUT) : null;
    boolean expired = expiresAt != null && !expiresAt.isAfter(now);
    Kind kind;
    if (Mailbox.STATE_PENDING.equals(state) || Mailbox.STATE_CLAIMED.equals(state) && !held) {
      kind = expired ? Kind.LEAVE : claims >= Mailbox.MAX_CLAIMS ? Kind.DEAD_LETTER : Kind.CLAIM;
    } else if (deadLettering) {
      kind = Kind.LEAVE;
    } else if (own) {
      kind = expired ? Kind.LEAVE : Kind.HAND_AGAIN;
    } else {
      boolean another = claimedBy != null && !claimedBy.equals(connectionId) && claimedAt != null
          && !claimedAt.isBefore(now.minus(Mailbox.SHARED_WINDOW));
      kind = another && (held || Mailbox.STATE_DELIVERED.equals(state) || Mailbox.STATE_ROUTED.equals(state))
          ? Kind.SHARE : Kind.LEAVE;
    }
    return new ClaimDecision(kind, heldUntil);
  }

  /** A claim that has not run out: its socket is writing the entry, or died doing so less than 30 s ago. */
  public static boolean held(String state, Instant claimedAt, Instant now) {
    return Mailbox.STATE_CLAIMED.equals(state) && claimedAt != null
        && !claimedAt.plus(Mailbox.CLAIM_TIMEOUT).isBefore(now);
  }
}
