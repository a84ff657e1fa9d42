package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HandshakeRateLimitTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void aBurstPassesThenTheRateHoldsAndSaysHowLongToWait() {
    HandshakeRateLimit<String> limit = new HandshakeRateLimit<String>(2, 5, 100);
    for (int i = 0; i < 5; i++) {
      assertEquals(Optional.empty(), limit.take("u1", 0), "the burst");
    }
    Optional<Duration> wait = limit.take("u1", 0);
    assertTrue(wait.isPresent(), "over the burst");
    assertEquals(Duration.ofMillis(500), wait.get(), "one token every half second");
    assertEquals(Optional.empty(), limit.take("u2", 0), "another key has its own bucket");
    assertEquals(Optional.empty(), limit.take("u1", SECOND / 2), "a token came back");
    assertTrue(limit.take("u1", SECOND / 2).isPresent());
  }

  @Test
  void onlyTheMostRecentKeysAreKept() {
    HandshakeRateLimit<String> limit = new HandshakeRateLimit<String>(1, 1, 2);
    limit.take("a", 0);
    assertTrue(limit.take("a", 0).isPresent());
    limit.take("b", 0);
    limit.take("c", 0); // a is the least recently seen and goes
    assertEquals(Optional.empty(), limit.take("a", 0), "a forgotten key starts with a full bucket");
  }

  /** A bounded key makes a bounded limiter: an address key (24 bytes) in 8 MiB is 80,659 of them. */
  @Test
  void aHeapBudgetBoundsTheKeysKept() {
    HandshakeRateLimit<Long> limit = HandshakeRateLimit.withinHeap(1, 1, 8L << 20, 24);
    for (long k = 0; k < 100_000; k++) {
      limit.take(k, 0);
    }
    assertEquals(80_659, limit.size());
  }
}
