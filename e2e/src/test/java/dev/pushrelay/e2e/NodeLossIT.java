package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * The user reconnects to the other node; every accepted id is delivered or dead-lettered. The backend
 * hears a {@code disconnected} event for every socket the node held: from the drain itself (close code
 * 1012), or from a live node's cleanup ({@code reason=node_lost}).
 */
class NodeLossIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private LocalStack stack;
  private ScheduledExecutorService sender;

  @BeforeEach
  void start() throws Exception {
    Map<String, String> env = new java.util.HashMap<>(FastRetry.ENV);
    env.put("RELAY_LOG_LEVEL", "DEBUG"); // message ids (never data) in the logs kept under target/
    stack = LocalStack.start(env);
    sender = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() throws Exception {
    sender.shutdownNow();
    stack.close();
  }

  /** How the node is lost; returns once the user's first socket saw it go. */
  private interface Loss {
    void inflict(ProcessHandle node, TestSocketClient socket) throws Exception;
  }

  @Test
  void sigtermDrainsWith1012AndLosesNothing() throws Exception {
    streamThroughNodeLoss("drain", 1, 2, Duration.ofSeconds(60), "closed", (node, socket) -> {
      long signalled = System.nanoTime();
      node.destroy(); // SIGTERM, as Cloud Run sends
      assertEquals(1012, socket.awaitClose(WAIT), "clients are told to reconnect");
      node.onExit().get(10, TimeUnit.SECONDS);
      long exitMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
      assertTrue(exitMillis < 10_000, "drained node exited in " + exitMillis + " ms");
    });
  }

  @Test
  void sigkillLosesNothingOnceTheNodeLeaseRunsOut() throws Exception {
    streamThroughNodeLoss("crash", 2, 1, Duration.ofSeconds(90), "node_lost", (node, socket) -> {
      node.destroyForcibly(); // SIGKILL: no drain, no goodbye
      socket.awaitClose(WAIT);
    });
  }

  /**
   * The user receives a stream on node {@code from}, loses it, moves to node {@code to}; nothing is lost,
   * and each socket node {@code from} held (the user's and a few idle ones) is reported disconnected
   * with {@code reason}.
   */
  private void streamThroughNodeLoss(String prefix, int from, int to, Duration settle, String reason, Loss loss)
      throws Exception {
    String user = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    UpstreamLedger upstream = new UpstreamLedger(stack.probe().clients());
    List<TestSocketClient> bystanders = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      bystanders.add(connect(from, user + "-idle-" + i));
    }
    Ledger ledger = new Ledger();
    AtomicInteger refused = new AtomicInteger();
    List<Map.Entry<String, TestSocketClient>> sockets = new CopyOnWriteArrayList<>();
    TestSocketClient first = connect(from, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, first));
    Set<String> held = new java.util.HashSet<>();
    held.add(connectionIdOf(first));
    for (TestSocketClient b : bystanders) {
      held.add(connectionIdOf(b));
    }
    ScheduledFuture<?> streaming = sender.scheduleAtFixedRate(() -> {
      if (!stack.sendRecorded(user, "tick", ledger)) {
        refused.incrementAndGet();
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
    awaitMessages(first, 10);

    loss.inflict(stack.nodeProcess(from), first);
    TestSocketClient second = connect(to, user);
    sockets.add(new AbstractMap.SimpleEntry<>(user, second));
    awaitMessages(second, 10);
    streaming.cancel(false);

    ledger.awaitNothingLost(() -> sockets, stack.probe()::deadLettered, settle);
    assertEquals(0, refused.get(), "the send API kept accepting");
    // the lost node's own topic and subscription go too, once a live node's cleanup proved it empty
    stack.probe().awaitChannelsGone("node-" + from, Duration.ofSeconds(60));
    assertEquals(List.of(), upstream.awaitDisconnected(held, reason, Duration.ofSeconds(60)));
    second.close();
    bystanders.forEach(TestSocketClient::close);
    upstream.close();
  }

  private static String connectionIdOf(TestSocketClient c) throws Exception {
    return c.awaitType("connection_established", WAIT).json().get("connectionId").asText();
  }


  private TestSocketClient connect(int node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node, stack.devToken(node, user)), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static void awaitMessages(TestSocketClient c, int count) throws Exception {
    Await.until("the stream to start (" + count + " messages)", WAIT, () -> c.messages().size() >= count,
        () -> "only " + c.messages().size() + " arrived");
  }
}
