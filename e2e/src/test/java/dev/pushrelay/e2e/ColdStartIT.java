package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The reason the relay exists: a message sent before the socket registers is not lost. */
class ColdStartIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  /** Counts every message the route function settled (routed, or found delivered by a catch-up). */
  private static final String SETTLED = "relay_route_attempts_count";
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
  void aMessageSentBeforeTheSocketArrivesRightAfterConnectionEstablishedExactlyOnce() throws Exception {
    String user = "cold-" + UUID.randomUUID().toString().substring(0, 8);
    double settledBefore = stack.metric("ROUTE_PORT", SETTLED);
    Instant sentAt = Instant.now();
    String id = stack.sendEvent(user, "{\"step\":1}");
    probe.awaitParked(user, id, true, WAIT);
    // The scenario: the user's socket shows up three seconds after the send (a cold start).
    long left = Duration.between(Instant.now(), sentAt.plusSeconds(3)).toMillis();
    if (left > 0) {
      TimeUnit.MILLISECONDS.sleep(left);
    }
    try (TestSocketClient socket = TestSocketClient.connect(stack.socket(2, stack.devToken(2, user)), Map.of(),
        WAIT)) {
      TestSocketClient.Frame established = socket.awaitType("connection_established", WAIT);
      TestSocketClient.Frame message = socket.awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
      TestSocketClient.Frame caughtUp = socket.awaitType("caught_up", WAIT);
      List<TestSocketClient.Frame> frames = socket.frames();
      assertTrue(frames.indexOf(established) < frames.indexOf(message), "message after connection_established");
      // right after it: written by the socket's catch-up (before caught_up), not by a later look or a retry
      assertTrue(frames.indexOf(message) < frames.indexOf(caughtUp), "written by the catch-up: " + frames);
      System.out.printf("cold start: the parked message arrived %d ms after connection_established%n",
          Duration.between(established.receivedAt(), message.receivedAt()).toMillis());
      // Pub/Sub still holds the message until a retry finds the delivered tombstone and settles it;
      // after that the socket must have seen the message once only.
      stack.awaitMetricAbove("ROUTE_PORT", SETTLED, settledBefore, WAIT,
          () -> "the route function never settled the retry: mailbox " + probe.mailboxState(user, id));
      assertTrue(probe.mailboxState(user, id).startsWith("delivered"), probe.mailboxState(user, id));
      assertEquals(1, socket.messages().stream().filter(f -> f.json().get("id").asText().equals(id)).count());
    }
  }

  /** Two tabs coming back together (after a deploy, say), on two nodes: each gets the parked message once. */
  @Test
  void twoSocketsOfOneUserConnectingTogetherEachGetTheParkedMessageOnce() throws Exception {
    String user = "tabs-" + UUID.randomUUID().toString().substring(0, 8);
    double settledBefore = stack.metric("ROUTE_PORT", SETTLED);
    String id = stack.sendEvent(user, "{\"step\":2}");
    probe.awaitParked(user, id, true, WAIT);
    try (TestSocketClient one = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(), WAIT);
        TestSocketClient two = TestSocketClient.connect(stack.socket(2, stack.devToken(2, user)), Map.of(), WAIT)) {
      for (TestSocketClient socket : List.of(one, two)) {
        socket.awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
      }
      stack.awaitMetricAbove("ROUTE_PORT", SETTLED, settledBefore, WAIT,
          () -> "the route function never settled the retry: mailbox " + probe.mailboxState(user, id));
      for (TestSocketClient socket : List.of(one, two)) {
        assertEquals(1, socket.messages().stream().filter(f -> f.json().get("id").asText().equals(id)).count());
      }
    }
  }

  @Test
  void aUserWhoNeverConnectsEndsInTheDeadLetterTopicWithReasonAndAnEmptyMailbox() throws Exception {
    String user = "ghost-" + UUID.randomUUID().toString().substring(0, 8);
    String id = stack.sendEvent(user, "1");
    PubsubMessage dead = probe.awaitDeadLetter(id, Duration.ofSeconds(60));
    assertEquals("no_connection_after_retries", dead.getAttributesOrThrow(MessageAttributes.REASON));
    assertEquals(user, dead.getAttributesOrThrow(MessageAttributes.USER_ID));
    assertTrue(!probe.parked(user, id), "mailbox entry removed with the dead letter");
  }

  @Test
  void anInvalidRequestIsDeadLetteredAtOnceNotRetried() throws Exception {
    String marker = "bad-" + UUID.randomUUID();
    try (PubSubMessagePublisher raw = new PubSubMessagePublisher(probe.clients())) {
      raw.publish(Topology.standard().requestsTopic(), new OutboundMessage("{\"event\":\"no user\"}",
          Map.of(MessageAttributes.MESSAGE_ID, marker))).get(10, TimeUnit.SECONDS);
    }
    PubsubMessage dead = probe.awaitDeadLetter(marker, WAIT);
    assertEquals("invalid", dead.getAttributesOrThrow(MessageAttributes.REASON));
    assertTrue(dead.getAttributesOrThrow(MessageAttributes.DETAIL).startsWith("userId"));
  }
}
