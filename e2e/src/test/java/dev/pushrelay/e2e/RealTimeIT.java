package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.TestSocketClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real time beside clients that are behind, on the whole stack: a socket that never acks (a frozen
 * browser tab, a hand-written client) holds back neither its user's other socket on the same node nor
 * its own next messages. Each case sends 20 messages one after another, the next once the previous one
 * arrived, and checks that none waited anywhere near the unacked window (10 s), which is what a socket
 * that is behind used to cost each message. The latencies measured are printed; the figures that count
 * are in BENCHMARKS.md.
 */
class RealTimeIT {
  private static final int MESSAGES = 20;
  /** Far below the 10 s unacked window that each message waited before, far above the quorum bound. */
  private static final Duration HELD_BACK = Duration.ofSeconds(3);
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static LocalStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(FastRetry.ENV);
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  @Test
  void aFrozenTabDoesNotHoldBackTheUsersActiveTabOnTheSameNode() throws Exception {
    String user = "frozen-tab-" + System.nanoTime();
    try (TestSocketClient frozen = connect(user); TestSocketClient active = connect(user)) {
      warmUp(user, frozen, active);
      frozen.stopAcking(); // the tab freezes: its last ack was for the warm-up
      List<Duration> latencies = sendOneAfterAnother(user, active);
      report("active tab beside a frozen one", latencies);
      assertTrue(latencies.stream().allMatch(d -> d.compareTo(HELD_BACK) < 0), "held back: " + latencies);
      frozen.awaitFrame(f -> "message".equals(f.type()) && f.json().path("data").path("n").asInt() == MESSAGES,
          WAIT);
      assertEquals(MESSAGES + 1, frozen.messages().size(), "the frozen tab got each message once too");
    }
  }

  @Test
  void aSocketThatNeverAcksGetsEachMessageWithoutWaitingForItsWindow() throws Exception {
    String user = "never-acks-" + System.nanoTime();
    try (TestSocketClient silent = connect(user)) {
      silent.stopAcking();
      warmUp(user, silent);
      List<Duration> latencies = sendOneAfterAnother(user, silent);
      report("a socket that never acks", latencies);
      assertTrue(latencies.stream().allMatch(d -> d.compareTo(HELD_BACK) < 0), "held back: " + latencies);
    }
  }

  /** Sends each message once the previous one reached {@code watched}; how long each took to get there. */
  private static List<Duration> sendOneAfterAnother(String user, TestSocketClient watched) throws Exception {
    List<Duration> latencies = new ArrayList<>();
    for (int n = 1; n <= MESSAGES; n++) {
      int number = n;
      Instant sent = Instant.now();
      send(user, n);
      TestSocketClient.Frame f = watched.awaitFrame(
          m -> "message".equals(m.type()) && m.json().path("data").path("n").asInt() == number, WAIT);
      latencies.add(Duration.between(sent, f.receivedAt()));
    }
    return latencies;
  }

  /**
   * One message, number 0, that reaches every socket before the measured ones: the sockets are then past
   * their first second, in which a new socket holds live messages behind its mailbox's second look.
   */
  private static void warmUp(String user, TestSocketClient... sockets) throws Exception {
    send(user, 0);
    for (TestSocketClient s : sockets) {
      s.awaitFrame(m -> "message".equals(m.type()) && m.json().path("data").path("n").asInt() == 0, WAIT);
    }
  }

  private static void send(String user, int n) throws Exception {
    ObjectNode body = JsonCodec.object();
    body.put("userId", user).put("event", "step").put("id", user + "-" + n);
    body.putObject("data").put("n", n);
    HttpResponse<String> r = stack.send("application/json", JsonCodec.write(body));
    assertEquals(202, r.statusCode(), r.body());
  }

  private static void report(String what, List<Duration> latencies) {
    List<Long> ms = latencies.stream().map(Duration::toMillis).sorted().toList();
    System.out.printf("real time, %s: p50 %d ms, max %d ms over %d sequential sends %s%n", what,
        ms.get(ms.size() / 2), ms.get(ms.size() - 1), ms.size(), latencies.stream().map(Duration::toMillis).toList());
  }

  private static TestSocketClient connect(String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }
}
