package dev.pushrelay.topology;

/** Exponential backoff of the retry subscription and the attempt after which a message is dead-lettered. */
public record RetrySettings(int minBackoffSeconds, int maxBackoffSeconds, int maxDeliveryAttempts) {
  public RetrySettings {
    if (minBackoffSeconds < 0 || minBackoffSeconds > 600) {
      throw new IllegalArgumentException("minBackoffSeconds must be 0..600, was " + minBackoffSeconds);
    }
    if (maxBackoffSeconds < minBackoffSeconds || maxBackoffSeconds > 600) {
      throw new IllegalArgumentException(
          "maxBackoffSeconds must be minBackoffSeconds..600, was " + maxBackoffSeconds);
    }
    if (maxDeliveryAttempts < 5 || maxDeliveryAttempts > 100) {
      throw new IllegalArgumentException("maxDeliveryAttempts must be 5..100, was " + maxDeliveryAttempts);
    }
  }
}
