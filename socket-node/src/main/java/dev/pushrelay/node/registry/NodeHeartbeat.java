package dev.pushrelay.node.registry;

import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code nodes/{nodeId}} alive: one write every heartbeat period, each extending the lease. A
 * node that stops beating (crash, kill -9) drops out of routing once its lease runs out.
 */
public final class NodeHeartbeat {
  private static final Logger LOG = LoggerFactory.getLogger(NodeHeartbeat.class);

  private final String nodeId;
  private final RegistryStore registry;
  private final Clock clock;
  private final int periodSeconds;
  private final int leaseSeconds;
  private volatile Instant lastSuccess = Instant.EPOCH;
  private ScheduledFuture<?> task;

  public NodeHeartbeat(String nodeId, RegistryStore registry, Clock clock, int periodSeconds, int leaseSeconds) {
    this.nodeId = nodeId;
    this.registry = registry;
    this.clock = clock;
    this.periodSeconds = periodSeconds;
    this.leaseSeconds = leaseSeconds;
  }

  /** Beats once now (the returned future completes with it), then every period. */
  public CompletableFuture<Void> start(ScheduledExecutorService scheduler) {
    CompletableFuture<Void> first = beat();
    task = scheduler.scheduleAtFixedRate(this::beat, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    return first;
  }

  public void stop() {
    if (task != null) {
      task.cancel(false);
    }
  }

  /** True while the last successful beat is within the lease. */
  public boolean healthy() {
    return lastSuccess.plusSeconds(leaseSeconds).isAfter(clock.instant());
  }

  CompletableFuture<Void> beat() {
    Instant now = clock.instant();
    return registry.heartbeat(nodeId, now, now.plusSeconds(leaseSeconds)).whenComplete((v, e) -> {
      if (e == null) {
        lastSuccess = now;
      } else {
        LOG.warn("heartbeat of node {} failed: {}", nodeId, e.toString());
      }
    });
  }
}
