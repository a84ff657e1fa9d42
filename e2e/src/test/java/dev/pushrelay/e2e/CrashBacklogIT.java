package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A node is killed while its users receive as fast as this machine can send, and its users stay away
 * until a live node has cleaned up after it: whatever its subscription held is re-routed (the cleanup
 * sweeps until the subscription is proven empty, however long that takes) and reaches the users from
 * their mailboxes when they come back. Nothing is lost.
 */
class CrashBacklogIT {
  /** A retry window of a few minutes: the users come back well inside it. */
  private static final Map<String, String> ENV = Map.of(
      "RELAY_RETRY_MIN_BACKOFF_SECONDS", "1",
      "RELAY_RETRY_MAX_BACKOFF_SECONDS", "10",
      "RELAY_MAX_DELIVERY_ATTEMPTS", "25");
  private static final int USERS = 20;
  private static final int SENDERS = 12;
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aKilledNodesBacklogReachesItsUsersWhenTheyComeBack() throws Exception {
    try (LocalStack stack = LocalStack.start(ENV)) {
      Ledger ledger = new Ledger();
      String run = UUID.randomUUID().toString().substring(0, 6);
      List<String> users = new ArrayList<>();
      List<Map.Entry<String, TestSocketClient>> sockets = new ArrayList<>();
      for (int i = 0; i < USERS; i++) {
        String user = "backlog-" + run + "-" + i;
        users.add(user);
        TestSocketClient c = TestSocketClient.connect(stack.socket(2, stack.devToken(1, user)), Map.of(), WAIT);
        c.awaitType("connection_established", WAIT);
        sockets.add(Map.entry(user, c));
      }
      AtomicBoolean sending = new AtomicBoolean(true);
      AtomicInteger n = new AtomicInteger();
      ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
      for (int t = 0; t < SENDERS; t++) {
        senders.execute(() -> {
          while (sending.get()) {
            stack.sendRecorded(users.get(n.getAndIncrement() % USERS), "burst", ledger);
          }
        });
      }
      long started = System.nanoTime();
      awaitAccepted(ledger, 500);
      ProcessHandle node = stack.nodeProcess(2);
      node.destroyForcibly(); // SIGKILL while the stream runs at full speed
      node.onExit().get(10, TimeUnit.SECONDS);
      awaitAccepted(ledger, ledger.acceptedCount() + 500);
      sending.set(false);
      senders.shutdown();
      assertTrue(senders.awaitTermination(30, TimeUnit.SECONDS));
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf("crash backlog: %d messages accepted in %.1f s (%.0f/s)%n", ledger.acceptedCount(), seconds,
          ledger.acceptedCount() / seconds);

      // the users stay away until node 2's subscription is swept and gone
      stack.probe().awaitChannelsGone("node-2", Duration.ofSeconds(120));
      List<Map.Entry<String, TestSocketClient>> back = new ArrayList<>(sockets);
      for (String user : users) {
        TestSocketClient c = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(), WAIT);
        back.add(Map.entry(user, c));
      }
      ledger.awaitNothingLost(() -> back, stack.probe()::deadLettered, Duration.ofSeconds(120));
      assertTrue(Ledger.duplicatesOnASocket(back).isEmpty(), "no socket saw an id twice");
    }
  }

  private static void awaitAccepted(Ledger ledger, int count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (ledger.acceptedCount() < count) {
      assertTrue(System.nanoTime() < deadline, "only " + ledger.acceptedCount() + " accepted");
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }
}
