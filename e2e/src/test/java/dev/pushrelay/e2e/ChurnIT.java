package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hundreds of users connect and disconnect at random, on both nodes, while messages flow to them.
 * Afterwards every accepted message was received or dead-lettered, and no socket saw an id twice.
 */
class ChurnIT {
  private static final int USERS = 200;
  private static final Duration CHURN = Duration.ofSeconds(30);
  private static final int MIN_TRAFFIC = 300;
  private static final int MIN_CONNECTS = USERS * 3;
  /** Sends in flight at once, at most: together about 33 a second while sends are quick. */
  private static final int SENDERS = 3;
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static LocalStack stack;
  private static StackProbe probe;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(FastRetry.ENV);
    probe = stack.probe();
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  @Test
  void nothingIsLostWhileUsersComeAndGo() throws Exception {
    Ledger ledger = new Ledger();
    List<Map.Entry<String, TestSocketClient>> sockets = new CopyOnWriteArrayList<>();
    Map<String, String> tokens = new java.util.concurrent.ConcurrentHashMap<>();
    for (int i = 0; i < USERS; i++) {
      tokens.put("churn-" + i, stack.devToken(1, "churn-" + i));
    }
    ScheduledExecutorService pool = Executors.newScheduledThreadPool(8);
    AtomicBoolean churning = new AtomicBoolean(true);
    AtomicInteger connects = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    try {
      for (String user : tokens.keySet()) {
        pool.schedule(() -> cycle(user, tokens.get(user), pool, churning, sockets, connects),
            ThreadLocalRandom.current().nextInt(1000), TimeUnit.MILLISECONDS);
      }
      List<String> users = List.copyOf(tokens.keySet());
      long end = System.nanoTime() + CHURN.toNanos();
      long latest = end + 6 * CHURN.toNanos();
      // SENDERS senders at once, each pacing itself, so that a send slowed by a busy machine does not hold
      // the others back; the whole churn window, and longer on a busy machine (up to 6 windows more: every
      // connect costs the emulated Firestore a second and a late mailbox look, and the emulated Pub/Sub its
      // connection events, which the local stack's echo backend reads too) until the traffic is enough to
      // mean something, and until the users have come and gone often enough (each connect waits for its upgrade,
      // on a pool of 8)
      List<java.util.concurrent.Future<?>> senders = new java.util.ArrayList<>();
      java.util.concurrent.ExecutorService sending = Executors.newFixedThreadPool(SENDERS);
      for (int s = 0; s < SENDERS; s++) {
        senders.add(sending.submit(() -> {
          while (System.nanoTime() < end || (!enough(ledger, connects) && System.nanoTime() < latest)) {
            String user = users.get(ThreadLocalRandom.current().nextInt(users.size()));
            if (!stack.sendRecorded(user, "churn", ledger)) {
              refused.incrementAndGet();
            }
            TimeUnit.MILLISECONDS.sleep(SENDERS * 30L); // pacing of the load, not a wait for a result
          }
          return null;
        }));
      }
      try {
        for (java.util.concurrent.Future<?> f : senders) {
          f.get();
        }
      } finally {
        sending.shutdownNow();
      }
      churning.set(false);
      // Everyone comes back and stays: parked messages drain, retries find their sockets.
      for (String user : users) {
        sockets.add(new AbstractMap.SimpleEntry<>(user, comeBack(user, tokens.get(user))));
      }
      try {
        ledger.awaitNothingLost(() -> sockets, probe::deadLettered, Duration.ofSeconds(60));
      } catch (java.util.concurrent.TimeoutException e) {
        StringBuilder states = new StringBuilder();
        ledger.lost(probe.deadLettered()).stream().limit(10).forEach(key -> {
          String[] parts = key.split("/", 2);
          states.append(key).append(": ").append(probe.mailboxState(parts[0], parts[1])).append("; ");
        });
        throw new AssertionError(e.getMessage().split(":")[0] + "; mailbox: " + states, e);
      }
    } finally {
      churning.set(false);
      pool.shutdownNow();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
    System.out.printf("churn: %d messages accepted, %d sends answered 503 and sent again%n", ledger.acceptedCount(),
        stack.sendsRetried());
    assertEquals(0, refused.get(), "the send API accepted every request within " + LocalStack.SEND_ATTEMPTS
        + " attempts");
    assertTrue(ledger.acceptedCount() > MIN_TRAFFIC, "enough traffic: " + ledger.acceptedCount());
    assertTrue(connects.get() > MIN_CONNECTS, "enough churn: " + connects.get() + " connects");
    for (Map.Entry<String, TestSocketClient> s : sockets) {
      List<String> ids = s.getValue().messages().stream().map(f -> f.json().get("id").asText()).toList();
      Set<String> distinct = new HashSet<>(ids);
      assertEquals(distinct.size(), ids.size(), "a socket of " + s.getKey() + " saw an id twice");
      s.getValue().close();
    }
  }

  /** Traffic and churn enough to mean something. */
  private static boolean enough(Ledger ledger, AtomicInteger connects) {
    return ledger.acceptedCount() > MIN_TRAFFIC && connects.get() > MIN_CONNECTS;
  }

  /**
   * The user's last connect, as a client makes it: a node that answers the upgrade 503 (fenced after a
   * lapsed lease, coming back as its next incarnation; or full) is tried again after a second, the two
   * nodes in turn, up to 10 times.
   */
  private static TestSocketClient comeBack(String user, String token) throws Exception {
    for (int attempt = 0; ; attempt++) {
      try {
        return TestSocketClient.connect(stack.socket(1 + ((user.hashCode() + attempt) & 1), token), Map.of(), WAIT);
      } catch (java.util.concurrent.ExecutionException e) {
        boolean unavailable = e.getCause() instanceof org.eclipse.jetty.websocket.api.exceptions.UpgradeException u
            && u.getResponseStatusCode() == 503;
        if (attempt == 9 || !unavailable) {
          throw e;
        }
        TimeUnit.SECONDS.sleep(1); // the Retry-After of a refused upgrade, not a wait for a result
      }
    }
  }

  /** One user's life: connect to a random node, stay 1-4 s, leave, come back after up to 1 s. */
  private static void cycle(String user, String token, ScheduledExecutorService pool, AtomicBoolean churning,
      List<Map.Entry<String, TestSocketClient>> sockets, AtomicInteger connects) {
    if (!churning.get()) {
      return;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    try {
      TestSocketClient c = TestSocketClient.connect(stack.socket(1 + random.nextInt(2), token), Map.of(), WAIT);
      sockets.add(new AbstractMap.SimpleEntry<>(user, c));
      connects.incrementAndGet();
      pool.schedule(() -> {
        c.close();
        pool.schedule(() -> cycle(user, token, pool, churning, sockets, connects), random.nextInt(1000),
            TimeUnit.MILLISECONDS);
      }, 1000 + random.nextInt(3000), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      if (churning.get()) {
        pool.schedule(() -> cycle(user, token, pool, churning, sockets, connects), 200, TimeUnit.MILLISECONDS);
      }
    }
  }
}
