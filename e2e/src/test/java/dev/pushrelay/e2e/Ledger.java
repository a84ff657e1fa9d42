package dev.pushrelay.e2e;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Every id the relay accepted, by user, checked against what the users' sockets received and what
 * the dead-letter topic holds: lost means accepted and neither received nor dead-lettered. It also
 * counts what must never happen at all: a message on a socket of a user it was not addressed to, and
 * one id written twice to one socket.
 */
final class Ledger {
  private final Map<String, Set<String>> accepted = new HashMap<>();
  private final Map<String, Instant> acceptedAt = new HashMap<>();
  private final Map<String, Instant> sendStarted = new HashMap<>();
  private final Map<String, Set<String>> received = new HashMap<>();
  private final Map<String, Instant> firstReceived = new HashMap<>();

  /**
   * {@code started}: when its send began (null for a path that promises no order, such as a publish
   * straight to relay-requests); the ledger takes now as the moment it was accepted.
   */
  synchronized void accepted(String user, String id, Instant started) {
    accepted.computeIfAbsent(user, u -> new HashSet<>()).add(id);
    acceptedAt.put(user + "/" + id, Instant.now());
    if (started != null) {
      sendStarted.put(user + "/" + id, started);
    }
  }

  /**
   * user/id of messages written to a socket after a message of the same user whose send began only
   * after this one had been accepted: sent one after the other, they came the other way round (the
   * order guarantee). Messages whose sends overlapped are not promised an order and never count.
   */
  synchronized Set<String> inversions(List<Map.Entry<String, TestSocketClient>> sockets) {
    Set<String> out = new HashSet<>();
    for (Map.Entry<String, TestSocketClient> s : sockets) {
      List<String> written = new ArrayList<>();
      for (TestSocketClient.Frame f : s.getValue().messages()) {
        String key = s.getKey() + "/" + f.json().get("id").asText();
        Instant accepted = acceptedAt.get(key);
        if (accepted != null && sendStarted.containsKey(key)) {
          for (String before : written) {
            Instant started = sendStarted.get(before);
            if (started != null && accepted.isBefore(started)) {
              out.add(key);
              break;
            }
          }
        }
        written.add(key);
      }
    }
    return out;
  }

  /** Adds what a socket of the user received so far (call again with the same socket as it grows). */
  synchronized void received(String user, TestSocketClient socket) {
    for (TestSocketClient.Frame f : socket.messages()) {
      String id = f.json().get("id").asText();
      received.computeIfAbsent(user, u -> new HashSet<>()).add(id);
      firstReceived.merge(user + "/" + id, f.receivedAt(), (a, b) -> a.isBefore(b) ? a : b);
    }
  }

  synchronized int acceptedCount() {
    return accepted.values().stream().mapToInt(Set::size).sum();
  }

  /** user/id of every accepted message whose acceptance matches. */
  synchronized Set<String> acceptedWhere(Predicate<Instant> when) {
    Set<String> keys = new HashSet<>();
    acceptedAt.forEach((key, at) -> {
      if (when.test(at)) {
        keys.add(key);
      }
    });
    return keys;
  }

  synchronized Instant acceptedAt(String key) {
    return acceptedAt.get(key);
  }

  /** When a socket of the user first received it, if one did. */
  synchronized Instant firstReceived(String key) {
    return firstReceived.get(key);
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
    AtomicReference<Set<String>> lost = new AtomicReference<>(Set.of());
    Await.until("every accepted message received or dead-lettered", timeout, () -> {
      lost.set(lostNow(sockets.get(), deadLetters));
      return lost.get().isEmpty();
    }, () -> lost.get().size() + " of " + acceptedCount() + " accepted messages lost: " + lost.get());
  }

  /** What is lost after adding what the sockets received so far; the dead letters are read after them. */
  private Set<String> lostNow(List<Map.Entry<String, TestSocketClient>> sockets, Supplier<Set<String>> deadLetters) {
    for (Map.Entry<String, TestSocketClient> s : sockets) {
      received(s.getKey(), s.getValue());
    }
    return lost(deadLetters.get());
  }

  /** Message frames on a socket of one user whose data names another user as the addressee. */
  static List<String> wrongUser(List<Map.Entry<String, TestSocketClient>> sockets) {
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, TestSocketClient> s : sockets) {
      for (TestSocketClient.Frame f : s.getValue().messages()) {
        String to = f.json().path("data").path("to").asText(null);
        if (to != null && !to.equals(s.getKey())) {
          wrong.add(s.getKey() + " got " + f.json().get("id").asText() + " for " + to);
        }
      }
    }
    return wrong;
  }

  /** Ids written more than once to one socket. */
  static List<String> duplicatesOnASocket(List<Map.Entry<String, TestSocketClient>> sockets) {
    List<String> repeats = new ArrayList<>();
    for (Map.Entry<String, TestSocketClient> s : sockets) {
      Set<String> seen = new HashSet<>();
      for (TestSocketClient.Frame f : s.getValue().messages()) {
        String id = f.json().get("id").asText();
        if (!seen.add(id)) {
          repeats.add(s.getKey() + "/" + id);
        }
      }
    }
    return repeats;
  }

  /**
   * Dead letters (other than invalid requests) whose user held a socket, established at least
   * {@code settled} before, at the moment the message was dead-lettered: the relay gave up on a
   * message while its user was there to take it.
   */
  static List<String> deadLetteredWhileConnected(List<PubsubMessage> deadLetters, List<ChaosWorkload.Socket> sockets,
      Duration settled) {
    List<String> out = new ArrayList<>();
    for (PubsubMessage m : deadLetters) {
      if ("invalid".equals(m.getAttributesOrDefault(MessageAttributes.REASON, ""))) {
        continue;
      }
      String user = m.getAttributesOrDefault(MessageAttributes.USER_ID, "");
      Instant at = Instant.ofEpochSecond(m.getPublishTime().getSeconds(), m.getPublishTime().getNanos());
      boolean held = sockets.stream().anyMatch(s -> s.user.equals(user) && s.heldAt(at)
          && !s.establishedAt.isAfter(at.minus(settled)));
      if (held) {
        out.add(user + "/" + m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, "") + " ("
            + m.getAttributesOrDefault(MessageAttributes.REASON, "?") + ")");
      }
    }
    return out;
  }

  /** Counts per reason, for the report. */
  static Map<String, Integer> reasons(List<PubsubMessage> deadLetters) {
    Map<String, Integer> out = new HashMap<>();
    for (PubsubMessage m : deadLetters) {
      out.merge(m.getAttributesOrDefault(MessageAttributes.REASON, "delivery_failed"), 1, Integer::sum);
    }
    return out;
  }
}
