package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.TestSocketClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The order guarantee on the whole stack: one sender sends 300 messages to one user, each only after
 * the previous one's 202. Every socket of the user gets them in that order, on both nodes, and across
 * a disconnect from node 1 and a reconnect to node 2 in the middle, with nothing lost. Each socket's
 * frames are checked with an inversion counter: a message written after one sent later.
 */
class OrderIT {
  private static final int MESSAGES = 300;
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

  @RepeatedTest(3)
  void sequentialSendsArriveInOrderOnEverySocketOfTheUser() throws Exception {
    String user = "order-both-" + System.nanoTime();
    try (TestSocketClient one = connect(1, user); TestSocketClient two = connect(2, user)) {
      for (int n = 1; n <= MESSAGES; n++) {
        send(user, n);
      }
      for (TestSocketClient socket : List.of(one, two)) {
        awaitSequence(socket, MESSAGES);
        assertEquals(0, inversions(sequence(socket)), "inversions on one socket: " + sequence(socket));
        assertEquals(MESSAGES, new TreeSet<>(sequence(socket)).size(), "every message on every socket");
      }
    }
  }

  /**
   * A disconnect from node 1 and a reconnect to node 2 in the middle: nothing is lost, each socket keeps
   * the order, and the second one gets what was parked in accept order ahead of the live messages
   * (messages whose route was still under way at the reconnect included: they are in the mailbox).
   */
  @RepeatedTest(3)
  void aReconnectToTheOtherNodeKeepsTheOrderAndLosesNothing() throws Exception {
    String user = "order-reconnect-" + System.nanoTime();
    List<Integer> first;
    try (TestSocketClient one = connect(1, user)) {
      for (int n = 1; n <= 150; n++) {
        send(user, n);
      }
      awaitSequence(one, 150);
      one.close();
      one.awaitClose(WAIT);
      first = sequence(one);
    }
    for (int n = 151; n <= 170; n++) {
      send(user, n); // the user has no socket: parked before the 202
    }
    try (TestSocketClient two = connect(2, user)) {
      for (int n = 171; n <= MESSAGES; n++) {
        send(user, n);
      }
      awaitSequence(two, MESSAGES);
      TreeSet<Integer> all = new TreeSet<>(first);
      all.addAll(sequence(two));
      if (all.size() < MESSAGES) {
        // a message routed late may still be on its way: wait for it, then call it lost
        two.awaitFrame(f -> {
          TreeSet<Integer> now = new TreeSet<>(first);
          now.addAll(sequence(two));
          return now.size() == MESSAGES;
        }, WAIT);
      }
      List<Integer> second = sequence(two);
      assertEquals(0, inversions(first), "inversions on the first socket: " + first);
      List<Integer> caughtUp = second.stream().takeWhile(n -> n <= 170).toList();
      assertEquals(0, inversions(caughtUp), "the catch-up in accept order: " + second);
      assertTrue(caughtUp.contains(151), "the parked messages come first: " + second);
      assertEquals(0, inversions(second), "inversions on the second socket: " + second);
    }
  }

  /** Messages written to the socket after a message sent later than them. */
  static int inversions(List<Integer> sequence) {
    int inversions = 0;
    int newest = 0;
    for (int n : sequence) {
      if (n < newest) {
        inversions++;
      } else {
        newest = n;
      }
    }
    return inversions;
  }

  private static TestSocketClient connect(int node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node, stack.devToken(node, user)), Map.of(), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static void send(String user, int n) throws Exception {
    ObjectNode body = JsonCodec.object();
    body.put("userId", user).put("event", "step").put("id", user + "-" + n);
    body.putObject("data").put("n", n);
    HttpResponse<String> r = stack.send("application/json", JsonCodec.write(body));
    assertEquals(202, r.statusCode(), r.body());
  }

  /** The message numbers in the order the socket received them, repeats included. */
  private static List<Integer> sequence(TestSocketClient socket) {
    List<Integer> out = new ArrayList<>();
    for (TestSocketClient.Frame f : socket.messages()) {
      out.add(f.json().path("data").path("n").asInt());
    }
    return out;
  }

  private static void awaitSequence(TestSocketClient socket, int last) throws Exception {
    socket.awaitFrame(f -> "message".equals(f.type()) && f.json().path("data").path("n").asInt() == last, WAIT);
  }
}
