package dev.pushrelay.e2e;

import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Every id the send API accepted, by user, checked against what the users' sockets received and what
 * the dead-letter topic holds: lost means accepted and neither received nor dead-lettered.
 */
final class Ledger {
  private final Map<String, Set<String>> accepted = new HashMap<>();
  private final Map<String, Set<String>> received = new HashMap<>();
  private final Map<String, Integer> rawCopies = new HashMap<>();

  synchronized void accepted(String user, String id) {
    accepted.computeIfAbsent(user, u -> new HashSet<>()).add(id);
  }

  /** Adds what a socket of the user received so far (call again with the same socket as it grows). */
  synchronized void received(String user, TestSocketClient socket) {
    for (TestSocketClient.Frame f : socket.messages()) {
      received.computeIfAbsent(user, u -> new HashSet<>()).add(f.json().get("id").asText());
    }
  }

  synchronized int acceptedCount() {
    return accepted.values().stream().mapToInt(Set::size).sum();
  }

  /** user/id pairs accepted but neither received nor in {@code deadLettered}. */
  synchronized Set<String> lost(Set<String> deadLettered) {
    Set<String> lost = new HashSet<>();
    accepted.forEach((user, ids) -> {
      for (String id : ids) {
        String key = user + "/" + id;
        if (!received.getOrDefault(user, Set.of()).contains(id) && !deadLettered.contains(key)) {
          lost.add(key);
        }
      }
    });
    return lost;
  }

  /** Waits until nothing is lost, refreshing from the sockets and the dead letters each round. */
  void awaitNothingLost(Supplier<List<Map.Entry<String, TestSocketClient>>> sockets, Supplier<Set<String>> deadLetters,
      Duration timeout) throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> lost;
    while (true) {
      for (Map.Entry<String, TestSocketClient> s : sockets.get()) {
        received(s.getKey(), s.getValue());
      }
      lost = lost(deadLetters.get());
      if (lost.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(lost.size() + " of " + acceptedCount() + " accepted messages lost: " + lost);
      }
      synchronized (this) {
        wait(100);
      }
    }
  }
}
