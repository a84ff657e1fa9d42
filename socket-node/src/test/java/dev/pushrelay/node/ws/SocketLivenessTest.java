package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SocketLivenessTest {
  private static final long SECOND = 1_000_000_000L;

  private static final class FakePeer implements SocketLiveness.Peer {
    long lastHeard;
    final AtomicInteger pings = new AtomicInteger();
    final AtomicInteger drops = new AtomicInteger();

    @Override
    public long lastHeardNanos() {
      return lastHeard;
    }

    @Override
    public void ping() {
      pings.incrementAndGet();
    }

    @Override
    public void drop() {
      drops.incrementAndGet();
    }
  }

  @Test
  void pingsTheLiveAndDropsTheSilent() {
    SocketLiveness liveness = new SocketLiveness(Duration.ofSeconds(60));
    FakePeer live = new FakePeer();
    FakePeer dead = new FakePeer();
    liveness.add(live);
    liveness.add(dead);
    for (long t = 30 * SECOND; t <= 120 * SECOND; t += 30 * SECOND) {
      live.lastHeard = t - SECOND; // answered the last ping
      liveness.sweep(t);
    }
    assertEquals(4, live.pings.get());
    assertEquals(0, live.drops.get());
    assertEquals(1, dead.drops.get());
    assertEquals(2, dead.pings.get());
    assertEquals(1, liveness.size());
  }
}
