package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.testing.MutableClock;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LocalConnectionTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

  /**
   * A burst larger than the re-delivery window: every ack the client owes is still recognised as owed
   * (so it costs nothing against the inbound rate limit), and only once.
   */
  @Test
  void everyAckOfABurstIsOwedOnceEvenBeyondTheUnackedWindow() throws Exception {
    LocalConnection c = new LocalConnection("c1", "u1", new OutboundQueue((text, written, failed) -> written.run(),
        4096), clock);
    c.goLive();
    for (int i = 0; i < 1000; i++) {
      c.deliver(new RelayMessage("m" + i, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL)).get();
    }
    for (int i = 0; i < 1000; i++) {
      assertTrue(c.acked("m" + i), "ack of m" + i);
    }
    assertFalse(c.acked("m0"), "an ack repeated is not owed");
    assertFalse(c.acked("never-written"));
  }
}
