package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.EmulatorProcess;
import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The delivery cost does not grow with the fleet: with three nodes, messages to a user connected on
 * one node are delivered (and acked) on that node's subscription only. Each node counts the Pub/Sub
 * deliveries it receives ({@code relay_pubsub_deliveries_total}); the other two receive none.
 */
class NodeChannelsIT {
  private static final int MESSAGES = 20;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String DELIVERIES = "relay_pubsub_deliveries_total";
  private static LocalStack stack;
  private static Process third;
  private static int thirdPort;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(FastRetry.ENV);
    thirdPort = EmulatorProcess.freePort();
    third = stack.startNode("node-3", thirdPort);
    stack.awaitNodeReady(thirdPort, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() throws Exception {
    if (third != null) {
      third.destroy(); // by its process id: the drain leaves no channel behind
      third.waitFor();
    }
    stack.close();
  }

  @Test
  void aConnectedUsersMessagesAreDeliveredOnItsNodesSubscriptionOnly() throws Exception {
    double[] before = {stack.metric("NODE1_PORT", DELIVERIES), stack.metric("NODE2_PORT", DELIVERIES),
        stack.metricAt(thirdPort, DELIVERIES)};
    String user = "channels-" + System.nanoTime();
    try (TestSocketClient socket = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(),
        WAIT)) {
      socket.awaitType("connection_established", WAIT);
      for (int n = 1; n <= MESSAGES; n++) {
        String body = "{\"userId\":\"" + user + "\",\"event\":\"e\",\"id\":\"" + user + "-" + n + "\"}";
        assertEquals(202, stack.send("application/json", body).statusCode());
      }
      socket.awaitFrame(f -> socket.messages().size() >= MESSAGES, WAIT);
    }
    assertTrue(stack.metric("NODE1_PORT", DELIVERIES) - before[0] >= MESSAGES, "each delivered on node 1");
    assertEquals(0, stack.metric("NODE2_PORT", DELIVERIES) - before[1], "node 2's subscription got none");
    assertEquals(0, stack.metricAt(thirdPort, DELIVERIES) - before[2], "node 3's subscription got none");
  }
}
