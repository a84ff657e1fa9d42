package dev.pushrelay.topology;

import dev.pushrelay.config.EnvReader;

/** The standard topology with the retry settings that the environment may override. */
public final class TopologySettings {
  public static final String MIN_BACKOFF = "RELAY_RETRY_MIN_BACKOFF_SECONDS";
  public static final String MAX_BACKOFF = "RELAY_RETRY_MAX_BACKOFF_SECONDS";
  public static final String MAX_ATTEMPTS = "RELAY_MAX_DELIVERY_ATTEMPTS";

  private TopologySettings() {}

  public static Topology read(EnvReader env) {
    Topology standard = Topology.standard();
    RetrySettings r = standard.retry();
    int min = env.integer(MIN_BACKOFF, r.minBackoffSeconds(), 0, 600);
    int max = env.integer(MAX_BACKOFF, Math.max(min, r.maxBackoffSeconds()), 0, 600);
    int attempts = env.integer(MAX_ATTEMPTS, r.maxDeliveryAttempts(), 5, 100);
    if (max < min) {
      env.problem(MAX_BACKOFF + " must not be below " + MIN_BACKOFF);
      return standard;
    }
    return standard.withRetry(new RetrySettings(min, max, attempts));
  }
}
