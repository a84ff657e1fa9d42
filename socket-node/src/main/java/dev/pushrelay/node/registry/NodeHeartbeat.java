package dev.pushrelay.node.registry;

import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the lease of one node incarnation on {@code nodes/{nodeId}}: one conditional renewal every
 * heartbeat period, on a thread of its own that nothing else runs on. The lease is lost, once, when a
 * renewal finds the node document gone or claimed for cleanup, or when no renewal has succeeded for a
 * whole lease (by the monotonic clock, so a process stalled past its lease sees it the moment it
 * resumes); {@code lost} then runs on this thread, and the node fences itself. A renewal that finds the
 * node's revision retired (a rollback) ends the heartbeat the same way, but runs {@code retired}: the
 * node leaves for good instead of coming back.
 */
public final class NodeHeartbeat implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeHeartbeat.class);
  /** How often the lease's age is checked between beats. */
  static final Duration CHECK = Duration.ofMillis(500);
  private final Duration check;

  private final String nodeId;
  private final RegistryStore registry;
  private final Clock clock;
  private final LongSupplier nanos;
  private final Duration period;
  private final Duration lease;
  private final Runnable lost;
  private final Runnable retired;
  private final String revision;
  private final ScheduledExecutorService thread;
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile long lastSuccessNanos;
  private volatile long lastBeatNanos;
  private volatile boolean beating;
  private ScheduledFuture<?> task;

  /** {@code revision}: the deployed revision the node runs (empty: none), written with the first lease. */
  public NodeHeartbeat(String nodeId, String revision, RegistryStore registry, Clock clock, int periodSeconds,
      int leaseSeconds, Runnable lost, Runnable retired) {
    this(nodeId, revision, registry, clock, System::nanoTime, Duration.ofSeconds(periodSeconds),
        Duration.ofSeconds(leaseSeconds), lost, retired, Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "heartbeat-" + nodeId);
          t.setDaemon(true);
          return t;
        }), CHECK);
  }

  /**
   * For tests: {@code nanos} is the monotonic clock, {@code thread} runs a check of the lease every
   * {@code check} (and a renewal when one is due).
   */
  NodeHeartbeat(String nodeId, String revision, RegistryStore registry, Clock clock, LongSupplier nanos,
      Duration period, Duration lease, Runnable lost, Runnable retired, ScheduledExecutorService thread,
      Duration check) {
    this.check = check;
    this.nodeId = nodeId;
    this.registry = registry;
    this.clock = clock;
    this.nanos = nanos;
    this.period = period;
    this.lease = lease;
    this.lost = lost;
    this.retired = retired;
    this.revision = revision;
    this.thread = thread;
  }

  /**
   * Takes the first lease (completes with it; a failure means the node cannot serve yet), then keeps
   * renewing it.
   */
  public CompletableFuture<Void> start() {
    long started = nanos.getAsLong();
    Instant now = clock.instant();
    return registry.heartbeat(nodeId, revision, now, now.plus(lease)).orTimeout(period.toMillis(), TimeUnit.MILLISECONDS)
        .thenRun(() -> {
          lastSuccessNanos = started;
          lastBeatNanos = started;
          task = thread.scheduleWithFixedDelay(this::tick, check.toMillis(), check.toMillis(), TimeUnit.MILLISECONDS);
        });
  }

  /** Stops renewing (a drain, or after the lease was lost); the lease then runs out on its own. */
  @Override
  public void close() {
    ended.set(true);
    if (task != null) {
      task.cancel(false);
    }
    thread.shutdown();
  }

  /** True while the last successful renewal is within the lease. */
  public boolean healthy() {
    return !ended.get() && nanos.getAsLong() - lastSuccessNanos < lease.toNanos();
  }

  public String nodeId() {
    return nodeId;
  }

  void tick() {
    if (ended.get()) {
      return;
    }
    long now = nanos.getAsLong();
    if (now - lastSuccessNanos >= lease.toNanos()) {
      end("lost its lease (no renewal succeeded for " + Duration.ofNanos(now - lastSuccessNanos).toMillis()
          + " ms): fencing", lost);
      return;
    }
    if (!beating && now - lastBeatNanos >= period.toNanos()) {
      beat(now);
    }
  }

  private void beat(long started) {
    beating = true;
    lastBeatNanos = started;
    Instant at = clock.instant();
    registry.renewLease(nodeId, at, at.plus(lease)).orTimeout(period.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((held, error) -> {
          beating = false;
          if (error != null) {
            LOG.warn("lease renewal of node {} failed: {}", nodeId, error.toString());
          } else if (held == RegistryStore.Lease.LOST) {
            end("lost its lease (its node entry is gone or claimed for cleanup): fencing", lost);
          } else if (held == RegistryStore.Lease.RETIRED) {
            end("found its revision retired: leaving", retired);
          } else {
            lastSuccessNanos = Math.max(lastSuccessNanos, started);
          }
        });
  }

  private void end(String what, Runnable then) {
    if (ended.compareAndSet(false, true)) {
      LOG.warn("node {} {}", nodeId, what);
      if (task != null) {
        task.cancel(false);
      }
      thread.execute(then);
      thread.shutdown();
    }
  }
}
