package dev.pushrelay.node.delivery;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.RelayMetrics;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The marks of mailbox entries a client acked, a user's sent together: the first one waits for
 * {@code later} (a few milliseconds), and the acks that come meanwhile, up to {@link #AT_ONCE}, go in
 * the same write call. A catch-up's client acks its page frame by frame; one call per ack made the
 * marks the heaviest Firestore traffic of a crowd's return. A mark that fails leaves its claim to run
 * out, and the route function's next retry settles the entry instead.
 */
final class DeliveredMarks {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveredMarks.class);
  /** The most marks in one call: what {@link Mailbox#delivered} sends as one batch. */
  static final int AT_ONCE = 20;

  private final Mailbox mailbox;
  private final Clock clock;
  private final RelayMetrics metrics;
  private final Executor later;
  // guarded by this
  private final Map<String, List<String>> waiting = new HashMap<>();

  /**
   * {@code later} runs a user's first waiting mark after the delay, on its own thread (the flush only
   * sends); {@code Runnable::run} sends each at once.
   */
  DeliveredMarks(Mailbox mailbox, Clock clock, RelayMetrics metrics, Executor later) {
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
    this.later = later;
  }

  void mark(String user, String messageId) {
    List<String> full = null;
    boolean first;
    synchronized (this) {
      List<String> ids = waiting.computeIfAbsent(user, u -> new ArrayList<>());
      ids.add(messageId);
      first = ids.size() == 1;
      if (ids.size() >= AT_ONCE) {
        full = waiting.remove(user);
      }
    }
    if (full != null) {
      send(user, full);
    } else if (first) {
      later.execute(() -> flush(user));
    }
  }

  /** Sends every mark waiting now; done once each call answered (a failed one is logged). */
  CompletableFuture<Void> flushAll() {
    Map<String, List<String>> all;
    synchronized (this) {
      all = new HashMap<>(waiting);
      waiting.clear();
    }
    return CompletableFuture.allOf(all.entrySet().stream().map(e -> send(e.getKey(), e.getValue()))
        .toArray(CompletableFuture[]::new));
  }

  private void flush(String user) {
    List<String> ids;
    synchronized (this) {
      ids = waiting.remove(user);
    }
    if (ids != null) {
      send(user, ids);
    }
  }

  private CompletableFuture<Void> send(String user, List<String> ids) {
    CompletableFuture<Void> marked = mailbox.delivered(user, ids, clock.instant());
    return marked.thenRun(() -> metrics.drained(ids.size())).exceptionally(e -> {
      LOG.warn("{} mailbox entries of user {} could not be marked delivered: {}", ids.size(), Pseudonyms.user(user),
          e.toString());
      return null;
    });
  }
}
