package dev.pushrelay.mailbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The hand-back limit in the one rule every mailbox decides its entries by. */
class ClaimDecisionTest {
  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
  private static final Instant EXPIRES = NOW.plusSeconds(3600);

  private static ClaimDecision pending(long claims) {
    return ClaimDecision.of(Mailbox.STATE_PENDING, null, null, EXPIRES, claims, "c1", NOW);
  }

  @Test
  void anEntryIsClaimedForASocketUpToTheLimitThenForTheDeadLetterTopic() {
    assertEquals(ClaimDecision.Kind.CLAIM, pending(0).kind());
    assertEquals(ClaimDecision.Kind.CLAIM, pending(Mailbox.MAX_CLAIMS - 1).kind());
    assertEquals(ClaimDecision.Kind.DEAD_LETTER, pending(Mailbox.MAX_CLAIMS).kind());
    Instant ranOut = NOW.minus(Mailbox.CLAIM_TIMEOUT).minusSeconds(1);
    assertEquals(ClaimDecision.Kind.DEAD_LETTER, ClaimDecision.of(Mailbox.STATE_CLAIMED, "c0", ranOut,
        EXPIRES, Mailbox.MAX_CLAIMS + 1, "c1", NOW).kind(), "a dead-letter claim whose node died: again");
  }

  @Test
  void whileTheDeadLetterClaimHoldsNoSocketGetsTheEntryNotEvenItsClaimer() {
    Instant claimedAt = NOW.minusSeconds(1);
    for (String socket : new String[] {"c1", "c2"}) {
      ClaimDecision d = ClaimDecision.of(Mailbox.STATE_CLAIMED, "c1", claimedAt, EXPIRES,
          Mailbox.MAX_CLAIMS + 1, socket, NOW);
      assertEquals(ClaimDecision.Kind.LEAVE, d.kind(), socket);
      assertEquals(claimedAt.plus(Mailbox.CLAIM_TIMEOUT), d.heldUntil(), socket + " looks again then");
    }
    assertEquals(ClaimDecision.Kind.HAND_AGAIN, ClaimDecision.of(Mailbox.STATE_CLAIMED, "c1", claimedAt,
        EXPIRES, Mailbox.MAX_CLAIMS, "c1", NOW).kind(), "the last claim for a socket is its own to write");
  }
}
