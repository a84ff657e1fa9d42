package dev.pushrelay.node.delivery;

import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PubsubMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Delivery channels in memory, for unit tests: a topic feeds its one subscription; a pulled message is
 * leased until its deadline on the clock given, then comes back; an ack removes it; a deadline of 0
 * gives it back at once; a seek gives every leased one back. A waiting pull answers as soon as a
 * message is there. Deleting a subscription fails pulls with {@link DeliveryBroker.GoneException}.
 * Thread-safe.
 */
public final class MemoryBroker implements DeliveryBroker {
  private static final long SECOND = 1_000_000_000L;

  /** One message of a subscription: leased until {@code leasedUntil} (0: not leased). */
  private static final class Entry {
    final PubsubMessage message;
    long leasedUntil;
    int deliveries;

    Entry(PubsubMessage message) {
      this.message = message;
    }
  }

  private final LongSupplier nanoTime;
  private final Map<String, String> topicOf = new HashMap<>();
  private final Map<String, LinkedHashMap<String, Entry>> subscriptions = new HashMap<>();
  private final Map<String, Integer> deadlineSeconds = new HashMap<>();
  private final List<CompletableFuture<Void>> waiting = new ArrayList<>();
  private final List<String> acked = new ArrayList<>();
  private int nextId;
  private long maxAnswerBytes = Long.MAX_VALUE;
  private boolean closed;

  public MemoryBroker(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** Publishes to {@code topic}; false when it does not exist (as a publish to a deleted topic fails). */
  public synchronized boolean publish(String topic, String data, Map<String, String> attributes) {
    String subscription = topicOf.get(topic);
    if (subscription == null) {
      return false;
    }
    String id = "m" + nextId++;
    PubsubMessage m = PubsubMessage.newBuilder().setData(ByteString.copyFromUtf8(data)).putAllAttributes(attributes)
        .setMessageId(id).build();
    subscriptions.get(subscription).put(id, new Entry(m));
    wake();
    return true;
  }

  /** The ids of the messages acked so far, in order. */
  public synchronized List<String> acked() {
    return List.copyOf(acked);
  }

  /** Messages the subscription still holds, leased or not. */
  public synchronized int held(String subscription) {
    LinkedHashMap<String, Entry> s = subscriptions.get(subscription);
    return s == null ? 0 : s.size();
  }

  /** How often the message was handed out. */
  public synchronized int deliveries(String messageId) {
    for (LinkedHashMap<String, Entry> s : subscriptions.values()) {
      Entry e = s.get(messageId);
      if (e != null) {
        return e.deliveries;
      }
    }
    return 0;
  }

  public synchronized boolean exists(String subscription) {
    return subscriptions.containsKey(subscription);
  }

  @Override
  public synchronized void open(String topic, String subscription, int ackDeadlineSeconds) {
    topicOf.putIfAbsent(topic, subscription);
    subscriptions.putIfAbsent(subscription, new LinkedHashMap<>());
    deadlineSeconds.putIfAbsent(subscription, ackDeadlineSeconds);
  }

  @Override
  public synchronized void deleteTopic(String topic) {
    topicOf.remove(topic);
  }

  @Override
  public synchronized List<String> subscriptions(String prefix) {
    return subscriptions.keySet().stream().filter(s -> s.startsWith(prefix)).sorted().toList();
  }

  @Override
  public synchronized void deleteSubscription(String subscription) {
    subscriptions.remove(subscription);
    topicOf.values().remove(subscription);
    wake();
  }

  @Override
  public CompletableFuture<List<Pulled>> pull(String subscription, int max) {
    CompletableFuture<Void> wakeUp;
    synchronized (this) {
      List<Pulled> now;
      try {
        now = take(subscription, max);
      } catch (GoneException | IllegalStateException e) {
        // as the Pub/Sub client answers: a failed pull, not a throw from the call
        return CompletableFuture.failedFuture(e);
      }
      if (!now.isEmpty() || closed) {
        return CompletableFuture.completedFuture(now);
      }
      wakeUp = new CompletableFuture<>();
      waiting.add(wakeUp);
    }
    // answered when something comes or the subscription goes (empty when another pull took it first, as a
    // long poll may end empty); a cancel ends the wait
    CompletableFuture<List<Pulled>> answer = new CompletableFuture<>();
    wakeUp.thenRun(() -> {
      try {
        answer.complete(pullNow(subscription, max));
      } catch (GoneException | IllegalStateException e) {
        answer.completeExceptionally(e);
      }
    });
    return answer;
  }

  @Override
  public synchronized List<Pulled> pullNow(String subscription, int max) {
    return take(subscription, max);
  }

  @Override
  public synchronized CompletableFuture<Void> ack(String subscription, List<String> ackIds) {
    LinkedHashMap<String, Entry> s = subscriptions.get(subscription);
    if (s == null) {
      return CompletableFuture.failedFuture(new GoneException(subscription, null));
    }
    for (String id : ackIds) {
      if (s.remove(id) != null) {
        acked.add(id);
      }
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized CompletableFuture<Void> modifyDeadline(String subscription, List<String> ackIds, int seconds) {
    LinkedHashMap<String, Entry> s = subscriptions.get(subscription);
    if (s == null) {
      return CompletableFuture.failedFuture(new GoneException(subscription, null));
    }
    for (String id : ackIds) {
      Entry e = s.get(id);
      if (e != null) {
        e.leasedUntil = seconds == 0 ? 0 : nanoTime.getAsLong() + seconds * SECOND;
      }
    }
    if (seconds == 0) {
      wake();
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public synchronized boolean seek(String subscription, Instant time) {
    LinkedHashMap<String, Entry> s = subscriptions.get(subscription);
    if (s == null) {
      throw new GoneException(subscription, null);
    }
    s.values().forEach(e -> e.leasedUntil = 0);
    return true;
  }

  /** Wakes waiting pulls whose messages' leases ran out (call after moving the clock on). */
  public synchronized void leasesRanOut() {
    wake();
  }

  @Override
  public synchronized void close() {
    closed = true;
    wake();
  }

  private List<Pulled> take(String subscription, int max) {
    LinkedHashMap<String, Entry> s = subscriptions.get(subscription);
    if (s == null) {
      throw new GoneException(subscription, null);
    }
    long now = nanoTime.getAsLong();
    List<Map.Entry<String, Entry>> free = new ArrayList<>();
    long bytes = 0;
    for (Map.Entry<String, Entry> e : s.entrySet()) {
      if (free.size() >= max) {
        break;
      }
      Entry entry = e.getValue();
      if (entry.leasedUntil == 0 || now - entry.leasedUntil >= 0) {
        free.add(e);
        bytes += entry.message.getSerializedSize();
      }
    }
    if (bytes > maxAnswerBytes) {
      // as gRPC fails an answer larger than the channel takes: nothing is leased
      throw new IllegalStateException("RESOURCE_EXHAUSTED: gRPC message exceeds maximum size " + maxAnswerBytes
          + ": " + bytes);
    }
    List<Pulled> out = new ArrayList<>();
    for (Map.Entry<String, Entry> e : free) {
      e.getValue().leasedUntil = now + deadlineSeconds.get(subscription) * SECOND;
      e.getValue().deliveries++;
      out.add(new Pulled(e.getKey(), e.getValue().message));
    }
    return out;
  }

  /** From now on a pull whose answer would pass {@code bytes} fails, as a gRPC channel of that limit does. */
  public synchronized void answersUpTo(long bytes) {
    maxAnswerBytes = bytes;
  }

  private void wake() {
    List<CompletableFuture<Void>> all = new ArrayList<>(waiting);
    waiting.clear();
    // completed outside the caller's view of the lock order: each re-enters pullNow on its own
    all.forEach(f -> CompletableFuture.runAsync(() -> f.complete(null)));
  }
}
