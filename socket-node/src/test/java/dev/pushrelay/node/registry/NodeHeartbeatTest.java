package dev.pushrelay.node.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lease of a node: kept by renewals, lost (once) when they stop succeeding or the node was claimed. */
class NodeHeartbeatTest {
  private static final Duration PERIOD = Duration.ofSeconds(4);
  private static final Duration LEASE = Duration.ofSeconds(12);
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final AtomicInteger lost = new AtomicInteger();
  private final AtomicInteger retired = new AtomicInteger();
  /** The heartbeat's own thread, with checks far apart: the test ticks by hand. */
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    thread.shutdownNow();
  }

  private NodeHeartbeat heartbeat(RegistryStore registry) {
    return new NodeHeartbeat("n1", "rev-1", registry, clock, nanos::get, PERIOD, LEASE, lost::incrementAndGet,
        retired::incrementAndGet, thread, Duration.ofHours(1));
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
    clock.advance(d);
  }

  @Test
  void renewalsKeepTheLease() throws Exception {
    InMemoryRegistryStore registry = new InMemoryRegistryStore();
    NodeHeartbeat hb = heartbeat(registry);
    hb.start().get();
    for (int i = 0; i < 10; i++) {
      advance(PERIOD);
      hb.tick();
    }
    assertTrue(hb.healthy());
    assertEquals(0, lost.get());
    assertFalse(registry.lapsedNodes(clock.instant()).get().contains("n1"), "the lease was extended in the registry");
  }

  /** Another node claimed it for cleanup: the next renewal says so, and the node is fenced. */
  @Test
  void aClaimForCleanupLosesTheLeaseAtTheNextRenewal() throws Exception {
    InMemoryRegistryStore registry = new InMemoryRegistryStore();
    NodeHeartbeat hb = heartbeat(registry);
    hb.start().get();
    advance(LEASE.plusSeconds(5));
    assertTrue(registry.claimCleanup("n1", "n2", clock.instant(), clock.instant().minusSeconds(3)).get());
    nanos.set(nanos.get() - LEASE.toNanos()); // the node itself did not notice the time pass (a stall)
    hb.tick();
    awaitLost();
    assertFalse(hb.healthy());
  }

  /** Renewals that keep failing (Firestore unreachable): the lease is lost once it has run out, not before. */
  @Test
  void renewalsThatFailLoseTheLeaseWhenItRunsOut() throws Exception {
    InMemoryRegistryStore memory = new InMemoryRegistryStore();
    boolean[] down = {false};
    RegistryStore registry = (RegistryStore) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {RegistryStore.class}, (proxy, method, args) -> down[0] && method.getName().equals("renewLease")
            ? CompletableFuture.failedFuture(new IllegalStateException("firestore unavailable"))
            : method.invoke(memory, args));
    NodeHeartbeat hb = heartbeat(registry);
    hb.start().get();
    down[0] = true;
    advance(PERIOD);
    hb.tick();
    advance(PERIOD);
    hb.tick();
    assertTrue(hb.healthy(), "8 s into a 12 s lease");
    assertEquals(0, lost.get());
    advance(PERIOD);
    hb.tick();
    awaitLost();
    assertFalse(hb.healthy());
    advance(PERIOD);
    hb.tick();
    assertEquals(1, lost.get(), "lost once");
  }

  /** A process that stalled past its lease finds out at the first check after it resumes. */
  @Test
  void aStallPastTheLeaseIsSeenAtTheFirstCheck() throws Exception {
    NodeHeartbeat hb = heartbeat(new InMemoryRegistryStore());
    hb.start().get();
    advance(Duration.ofSeconds(20));
    assertFalse(hb.healthy());
    hb.tick();
    awaitLost();
  }

  /** A rollback retired the node's revision: the next renewal ends the heartbeat, as retired, not lost. */
  @Test
  void aRetiredRevisionEndsTheHeartbeatAtTheNextRenewalWithoutFencing() throws Exception {
    InMemoryRegistryStore registry = new InMemoryRegistryStore();
    NodeHeartbeat hb = heartbeat(registry);
    hb.start().get();
    advance(PERIOD);
    hb.tick();
    assertEquals(0, retired.get());
    registry.retireRevision("rev-2");
    advance(PERIOD);
    hb.tick();
    assertEquals(0, retired.get(), "another revision's retirement does not touch this node");
    registry.retireRevision("rev-1");
    advance(PERIOD);
    hb.tick();
    Await.until("the heartbeat ended as retired", Duration.ofSeconds(5), () -> retired.get() == 1);
    assertEquals(0, lost.get(), "a retired node is not fenced: it does not come back");
    assertFalse(hb.healthy());
    assertTrue(registry.revisionRetired("rev-1").get());
  }

  private void awaitLost() throws Exception {
    Await.until("the lease was lost", Duration.ofSeconds(5), () -> lost.get() > 0);
  }
}
