package dev.pushrelay.node.config;

import java.time.Duration;
import java.util.Objects;

/**
 * What one socket may do and hold, what one user may hold, and what the node's sockets may hold together.
 *
 * @param maxConnectionsPerUser sockets one user may hold on this node; more are refused with 429
 * @param maxConnectionsPerUserFleet sockets one user may hold across the fleet, counted in the registry
 *     once a socket is registered; the socket that passes it is closed with 1013
 * @param inboundFramesPerSecond steady rate of client frames (text, binary, ping) a socket may send
 * @param inboundFrameBurst frames a socket may send at once above that rate
 * @param pingInterval how often the node pings every socket; one that answers nothing (no pong, no
 *     frame) for {@link #MISSED_PINGS} intervals is dropped
 * @param outboundFrames frames written to a socket but not yet taken by the network; beyond that the
 *     consumer is too slow and the socket is closed with 1013
 * @param outboundChars the same bound in characters, so a few large messages cannot pin megabytes
 * @param openDeadline how long a reservation made at the handshake waits for the upgrade to complete
 * @param memoryBudgetBytes what the send queues of all the node's sockets may hold together (two bytes a
 *     character); past it new sockets get 503 and the one that holds the most is closed with 1013
 */
public record SocketLimits(
    int maxConnectionsPerUser,
    int maxConnectionsPerUserFleet,
    int inboundFramesPerSecond,
    int inboundFrameBurst,
    Duration pingInterval,
    int outboundFrames,
    int outboundChars,
    Duration openDeadline,
    long memoryBudgetBytes) {

  public static final int MISSED_PINGS = 2;

  public SocketLimits {
    Objects.requireNonNull(pingInterval, "pingInterval");
    Objects.requireNonNull(openDeadline, "openDeadline");
    if (maxConnectionsPerUser < 1 || maxConnectionsPerUserFleet < 1 || inboundFramesPerSecond < 1
        || inboundFrameBurst < 1 || outboundFrames < 1 || outboundChars < 1 || memoryBudgetBytes < 1) {
      throw new IllegalArgumentException("socket limits must be positive");
    }
    if (pingInterval.isNegative() || pingInterval.isZero() || openDeadline.isNegative() || openDeadline.isZero()) {
      throw new IllegalArgumentException("socket intervals must be positive");
    }
  }

  public static SocketLimits defaults() {
    return new SocketLimits(10, 30, 10, 20, Duration.ofSeconds(30), 1024, 4 * 1024 * 1024,
        Duration.ofSeconds(10), (Runtime.getRuntime().maxMemory() / 5 * 2) >> 20 << 20);
  }

  /** A socket that stays silent this long after a ping is dead. */
  public Duration deadAfter() {
    return pingInterval.multipliedBy(MISSED_PINGS);
  }

  public SocketLimits withMaxConnectionsPerUser(int n, int fleet) {
    return new SocketLimits(n, fleet, inboundFramesPerSecond, inboundFrameBurst, pingInterval, outboundFrames,
        outboundChars, openDeadline, memoryBudgetBytes);
  }

  public SocketLimits withInboundRate(int perSecond, int burst) {
    return new SocketLimits(maxConnectionsPerUser, maxConnectionsPerUserFleet, perSecond, burst, pingInterval,
        outboundFrames, outboundChars, openDeadline, memoryBudgetBytes);
  }

  public SocketLimits withPingInterval(Duration interval) {
    return new SocketLimits(maxConnectionsPerUser, maxConnectionsPerUserFleet, inboundFramesPerSecond,
        inboundFrameBurst, interval, outboundFrames, outboundChars, openDeadline, memoryBudgetBytes);
  }

  /** The budget of the node's send queues together, in bytes. */
  public SocketLimits withMemoryBudget(long bytes) {
    return new SocketLimits(maxConnectionsPerUser, maxConnectionsPerUserFleet, inboundFramesPerSecond,
        inboundFrameBurst, pingInterval, outboundFrames, outboundChars, openDeadline, bytes);
  }

  public SocketLimits withOutbound(int frames, int chars) {
    return new SocketLimits(maxConnectionsPerUser, maxConnectionsPerUserFleet, inboundFramesPerSecond,
        inboundFrameBurst, pingInterval, frames, chars, openDeadline, memoryBudgetBytes);
  }
}
