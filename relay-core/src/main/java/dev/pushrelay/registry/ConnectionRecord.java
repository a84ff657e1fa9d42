package dev.pushrelay.registry;

import java.time.Instant;
import java.util.Objects;

/** One registered socket: who holds it and where. */
public record ConnectionRecord(String connectionId, String userId, String nodeId, Instant connectedAt) {
  public ConnectionRecord {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(connectedAt, "connectedAt");
  }
}
