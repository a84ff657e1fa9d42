package dev.pushrelay.e2e;

import java.util.Map;

/** Retry settings that make the local stack give up within seconds, so tests reach the dead letter. */
final class FastRetry {
  static final Map<String, String> ENV = Map.of(
      "RELAY_RETRY_MIN_BACKOFF_SECONDS", "1",
      "RELAY_RETRY_MAX_BACKOFF_SECONDS", "2",
      "RELAY_MAX_DELIVERY_ATTEMPTS", "5");

  private FastRetry() {}
}
