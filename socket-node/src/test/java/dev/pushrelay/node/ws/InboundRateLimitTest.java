package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.node.ws.InboundRateLimit.Verdict;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InboundRateLimitTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void aBurstIsAdmittedThenRefusedWithOneWarning() {
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    List<Verdict> verdicts = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      verdicts.add(limit.admit(0));
    }
    assertEquals(List.of(Verdict.ADMIT), verdicts.subList(0, 20).stream().distinct().toList());
    assertEquals(List.of(Verdict.REFUSE_AND_WARN, Verdict.REFUSE, Verdict.REFUSE), verdicts.subList(20, 23));
    // a second later ten tokens are back, and the next refusal warns again
    for (int i = 0; i < 10; i++) {
      assertEquals(Verdict.ADMIT, limit.admit(SECOND));
    }
    assertEquals(Verdict.REFUSE_AND_WARN, limit.admit(SECOND));
  }

  @Test
  void aClientWithinItsRateIsNeverRefused() {
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    for (long t = 0; t < 60 * SECOND; t += SECOND / 10) {
      assertEquals(Verdict.ADMIT, limit.admit(t));
    }
  }

  @Test
  void sustainedAbuseCloses() {
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    Verdict last = null;
    long t = 0;
    int frames = 0;
    // twice the allowed rate
    while (last != Verdict.CLOSE && frames < 10_000) {
      last = limit.admit(t);
      t += SECOND / 20;
      frames++;
    }
    assertEquals(Verdict.CLOSE, last);
    assertEquals(true, t < 5 * SECOND, "closed after " + t / (double) SECOND + " s");
  }

  @Test
  void aFloodAtOnceCloses() {
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    Verdict last = null;
    for (int i = 0; i < 41; i++) {
      last = limit.admit(0);
    }
    assertEquals(Verdict.CLOSE, last);
  }

  @Test
  void acksTheClientOwedCostNothing() {
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    for (int i = 0; i < 500; i++) {
      assertEquals(Verdict.ADMIT, limit.admit(0));
      limit.refund();
    }
  }

  /** A frame pays for its size: one token per started 16 KiB, so bytes are held to the rate as frames are. */
  @Test
  void aFrameCostsATokenPerStarted16KiB() {
    assertEquals(1, InboundRateLimit.cost(0));
    assertEquals(1, InboundRateLimit.cost(16 * 1024));
    assertEquals(2, InboundRateLimit.cost(16 * 1024 + 1));
    assertEquals(4, InboundRateLimit.cost(64 * 1024));
    InboundRateLimit limit = new InboundRateLimit(10, 20, 0);
    for (int i = 0; i < 5; i++) {
      assertEquals(Verdict.ADMIT, limit.admit(0, 4));
    }
    assertEquals(Verdict.REFUSE_AND_WARN, limit.admit(0, 1), "five 64 KiB frames spent the burst of 20");
  }
}
