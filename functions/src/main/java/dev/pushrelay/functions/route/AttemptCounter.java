package dev.pushrelay.functions.route;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which attempt this is for a message. Production Pub/Sub says so in the push envelope
 * ({@code deliveryAttempt}); the emulator does not, so the instance counts the pushes it saw, and the
 * mailbox keeps the durable count across instances. Bounded: the oldest ids are forgotten first.
 */
final class AttemptCounter {
  private final int capacity;
  private final Map<String, Integer> seen;

  AttemptCounter(int capacity) {
    this.capacity = capacity;
    this.seen = new LinkedHashMap<>(16, 0.75f, true);
  }

  /** The attempt number of this push of the Pub/Sub message {@code pubsubMessageId}. */
  synchronized int next(String pubsubMessageId, Optional<Integer> deliveryAttempt) {
    int attempt = deliveryAttempt.orElseGet(() -> seen.getOrDefault(pubsubMessageId, 0) + 1);
    seen.put(pubsubMessageId, attempt);
    if (seen.size() > capacity) {
      seen.remove(seen.keySet().iterator().next());
    }
    return attempt;
  }
}
