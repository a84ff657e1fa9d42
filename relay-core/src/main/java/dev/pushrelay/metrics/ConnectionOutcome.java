package dev.pushrelay.metrics;

import java.util.Locale;

/** How a WebSocket connection attempt ended: the {@code outcome} of {@code websocket.connection.attempts}. */
public enum ConnectionOutcome {
  /** Registered and {@code connection_established} sent. */
  ACCEPTED,
  /** Refused with 401: no token, or one that does not verify. */
  AUTH_FAILED,
  /** Refused with 403: the Origin is not allowed. */
  ORIGIN_REFUSED,
  /** Refused with 503: the node holds as many sockets as it may. */
  OVER_CAPACITY,
  /** Refused with 503 or 429: the caller opens sockets too fast. */
  RATE_LIMITED,
  /** Refused with 503: the node is draining. */
  DRAINING,
  /** Upgraded, but the registry write failed: closed with 1011. */
  REGISTRY_FAILED,
  /** Upgraded and registered, but the user holds more sockets across the fleet than it may: closed with 1013. */
  USER_LIMIT;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
