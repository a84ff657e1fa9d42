package dev.pushrelay.examples.echo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The echo backend acks what a retry cannot change, and only that; nacks the rest. */
class SendAnswerTest {
  @Test
  void aRefusalForGoodIsAckedNotRetriedForever() {
    for (int status : new int[] {400, 401, 403, 404, 405, 413, 415}) {
      assertEquals(SendAnswer.REFUSED, SendAnswer.of(status), "status " + status);
      assertTrue(SendAnswer.of(status).acks(), "status " + status);
    }
    assertEquals(SendAnswer.ACCEPTED, SendAnswer.of(202));
    assertTrue(SendAnswer.ACCEPTED.acks());
  }

  @Test
  void whatARetryCanChangeIsNacked() {
    for (int status : new int[] {408, 429, 500, 502, 503, 504, 200, 301}) {
      assertEquals(SendAnswer.RETRY, SendAnswer.of(status), "status " + status);
      assertFalse(SendAnswer.of(status).acks(), "status " + status);
    }
  }
}
