package dev.pushrelay.node.ws;

import dev.pushrelay.node.config.SocketLimits;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every socket of the node is held to ({@link SocketLimits}), with the node's scheduler for the
 * per-socket timers (open deadline, token expiry) and the node-wide {@link SocketLiveness} sweep.
 */
public final class SocketPolicy {
  private final SocketLimits limits;
  private final ScheduledExecutorService scheduler;
  private final SocketLiveness liveness;

  public SocketPolicy(SocketLimits limits, ScheduledExecutorService scheduler, SocketLiveness liveness) {
    this.limits = limits;
    this.scheduler = scheduler;
    this.liveness = liveness;
  }

  public SocketLimits limits() {
    return limits;
  }

  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  public SocketLiveness liveness() {
    return liveness;
  }
}
