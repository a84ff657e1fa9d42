package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A rollback under traffic, as the README's command does it on the local stack: {@code scripts/rollback.sh
 * --retire local-2} while node 2 (revision {@code local-2}) holds users who are being sent messages. Node
 * 2 closes every socket with 1012 at its next lease renewal; the clients reconnect at once, to node 1 (the
 * revision that serves, as Cloud Run's traffic would send them); node 2 refuses new sockets with 503; and
 * nothing accepted is lost.
 */
class RolloutIT {
  private static final int USERS = 20;
  /** Messages a second, over all users. */
  private static final int RATE = 40;
  private static final Duration MOVED_WITHIN = Duration.ofSeconds(10);
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aRetiredRevisionsSocketsMoveToTheServingOneWithinSecondsAndNothingIsLost() throws Exception {
    try (LocalStack stack = LocalStack.start(Map.of())) {
      Ledger ledger = new Ledger();
      String run = Long.toString(System.nanoTime(), 36);
      List<Map.Entry<String, TestSocketClient>> sockets = new CopyOnWriteArrayList<>();
      Map<String, Instant> movedAt = new ConcurrentHashMap<>();
      Map<String, Integer> closeCodes = new ConcurrentHashMap<>();
      ScheduledExecutorService pool = Executors.newScheduledThreadPool(USERS);
      java.util.concurrent.ExecutorService reconnects = Executors.newCachedThreadPool();
      List<String> users = new ArrayList<>();
      for (int i = 0; i < USERS; i++) {
        String user = "rollout-" + run + "-" + i;
        users.add(user);
        TestSocketClient c = TestSocketClient.connect(stack.socket(2, stack.devToken(2, user)), Map.of(), WAIT);
        c.awaitType("connection_established", WAIT);
        sockets.add(Map.entry(user, c));
        // as the JS client does on 1012: reconnect at once; the traffic now goes to the serving revision
        c.closed().thenAccept(code -> {
          closeCodes.put(user, code);
          reconnects.execute(() -> {
            try {
              TestSocketClient back = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(), WAIT);
              sockets.add(Map.entry(user, back));
              movedAt.put(user, back.awaitType("connection_established", WAIT).receivedAt());
            } catch (Exception e) {
              System.out.printf("rollout: %s could not reconnect: %s%n", user, e);
            }
          });
        });
      }
      for (String user : users) {
        pool.scheduleAtFixedRate(() -> stack.sendRecorded(user, "rollout", ledger), 0,
            1_000_000L * USERS / RATE, TimeUnit.MICROSECONDS);
      }
      Await.until("traffic flowing", WAIT, () -> ledger.acceptedCount() >= 2 * RATE);

      Instant retired = Instant.now();
      String printed = stack.retireRevision("local-2");
      Duration script = Duration.between(retired, Instant.now());
      assertTrue(printed.contains("marked 1 node document"), printed);
      Await.until("every user back on node 1", MOVED_WITHIN.plusSeconds(20), () -> movedAt.size() == USERS);
      Duration slowest = movedAt.values().stream().map(at -> Duration.between(retired, at))
          .max(Duration::compareTo).orElseThrow();
      Optional<Integer> refusal = TestSocketClient.refusal(stack.socket(2, stack.devToken(1, "rollout-" + run + "-new")),
          Map.of(), WAIT);
      Await.until("sends after the move", WAIT, () -> ledger.acceptedWhere(at -> at.isAfter(retired.plusSeconds(12)))
          .size() >= RATE);
      pool.shutdownNow();
      reconnects.shutdown();
      assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
      ledger.awaitNothingLost(() -> sockets, stack.probe()::deadLettered, Duration.ofSeconds(90));
      System.out.printf("rollout: rollback.sh took %d ms; %d users moved from local-2 to node 1, the last %d ms "
          + "after it began; close codes %s; a new handshake to node 2: %s; %d accepted, none lost%n", script.toMillis(),
          movedAt.size(), slowest.toMillis(), closeCodes.values().stream().distinct().toList(), refusal, ledger.acceptedCount());
      assertEquals(List.of(1012), closeCodes.values().stream().distinct().toList(), "closed with 1012");
      assertTrue(slowest.compareTo(MOVED_WITHIN) <= 0, "moved within " + MOVED_WITHIN + ": " + slowest);
      assertEquals(Optional.of(503), refusal, "the retired revision refuses new sockets");
      assertTrue(Ledger.duplicatesOnASocket(sockets).isEmpty(), "no socket saw an id twice");
      for (Map.Entry<String, TestSocketClient> s : sockets) {
        s.getValue().close();
      }
    }
  }
}
