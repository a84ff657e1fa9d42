package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.TestSocketClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node goes away while its user receives a stream: drained with SIGTERM, or killed with SIGKILL.
 * The user reconnects to the other node; every accepted id is delivered or dead-lettered.
 */
class NodeLossIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private LocalStack stack;
  private StackProbe probe;
  private ScheduledExecutorService sender;

  @BeforeEach
  void start() throws Exception {
    stack = LocalStack.start(FastRetry.ENV);
    probe = new StackProbe(stack);
    sender = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() throws Exception {
    sender.shutdownNow();
    probe.close();
    stack.close();
  }

  /** Sends to the user every 50 ms and records each accepted id; 5xx answers are not accepted ones. */
  private ScheduledFuture<?> stream(String user, Ledger ledger, AtomicInteger refused) {
    return sender.scheduleAtFixedRate(() -> {
      try {
        HttpResponse<String> r = stack.send("application/json",
            "{\"userId\":\"" + user + "\",\"event\":\"tick\",\"data\":{}}");
        if (r.statusCode() == 202) {
          ledger.accepted(user, LocalStack.json(r).get("id").asText());
        } else {
          refused.incrementAndGet();
        }
      } catch (Exception e) {
        refused.incrementAndGet();
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
  }

  private TestSocketClient connect(int node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node, stack.devToken(node, user)), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static void awaitMessages(TestSocketClient c, int count) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (c.messages().size() < count) {
      assertTrue(System.nanoTime() < deadline, "stream did not start");
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  @Test
  void sigtermDrainsWith1012AndLosesNothing() throws Exception {
    String user = "drain-" + UUID.randomUUID().toString().substring(0, 8);
    Ledger ledger = new Ledger();
    AtomicInteger refused = new AtomicInteger();
    List<Map.Entry<String, TestSocketClient>> sockets = new CopyOnWriteArrayList<>();
    TestSocketClient first = connect(1, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, first));
    ScheduledFuture<?> streaming = stream(user, ledger, refused);
    awaitMessages(first, 10);

    ProcessHandle node1 = stack.nodeProcess(1);
    long signalled = System.nanoTime();
    node1.destroy(); // SIGTERM, as Cloud Run sends
    assertEquals(1012, first.awaitClose(WAIT), "clients are told to reconnect");
    TestSocketClient second = connect(2, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, second));
    node1.onExit().get(10, TimeUnit.SECONDS);
    long exitMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
    assertTrue(exitMillis < 10_000, "drained node exited in " + exitMillis + " ms");
    awaitMessages(second, 10);
    streaming.cancel(false);

    ledger.awaitNothingLost(() -> sockets, probe::deadLettered, Duration.ofSeconds(60));
    assertEquals(0, refused.get(), "the send API kept accepting");
    second.close();
  }

  @Test
  void sigkillLosesNothingOnceTheNodeLeaseRunsOut() throws Exception {
    String user = "crash-" + UUID.randomUUID().toString().substring(0, 8);
    Ledger ledger = new Ledger();
    AtomicInteger refused = new AtomicInteger();
    List<Map.Entry<String, TestSocketClient>> sockets = new CopyOnWriteArrayList<>();
    TestSocketClient first = connect(2, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, first));
    ScheduledFuture<?> streaming = stream(user, ledger, refused);
    awaitMessages(first, 10);

    stack.nodeProcess(2).destroyForcibly(); // SIGKILL: no drain, no goodbye
    first.awaitClose(WAIT);
    TestSocketClient second = connect(1, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, second));
    awaitMessages(second, 10);
    streaming.cancel(false);

    ledger.awaitNothingLost(() -> sockets, probe::deadLettered, Duration.ofSeconds(90));
    assertEquals(0, refused.get(), "the send API kept accepting");
    second.close();
  }
}
