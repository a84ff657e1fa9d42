package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client that connects, takes its backlog from the mailbox and closes before acking, over and over
 * (a reconnect loop of a client that never acks), costs a bounded number of cycles: after
 * {@link Mailbox#MAX_CLAIMS} the message goes to the dead-letter topic with reason {@code handed_back},
 * and its entry stays as a tombstone that settles the retry subscription's later attempts. The retry
 * subscription waits a minute between attempts here, and the cycles start after its first attempt, so that
 * no route attempt finds the user online in the middle of the cycles and routes the message live.
 */
class HandBackIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static LocalStack stack;
  private static StackProbe probe;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(Map.of("RELAY_RETRY_MIN_BACKOFF_SECONDS", "60",
        "RELAY_RETRY_MAX_BACKOFF_SECONDS", "600"));
    probe = stack.probe();
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  @Test
  void aClientThatTakesItsBacklogAndClosesUnackedOverAndOverEndsWithItInTheDeadLetterTopic() throws Exception {
    String user = "loop-" + UUID.randomUUID().toString().substring(0, 8);
    String id = stack.sendEvent(user, "1");
    probe.awaitParked(user, id, true, WAIT);
    // the route function's first attempt, made while the user is offline; its next comes a minute later
    Await.until("the route function's first attempt", WAIT,
        () -> probe.mailboxState(user, id).matches("pending after [1-9]\\d* attempts.*"),
        () -> probe.mailboxState(user, id));

    for (int cycle = 1; cycle <= Mailbox.MAX_CLAIMS; cycle++) {
      try (TestSocketClient socket = TestSocketClient.connectWithoutAcks(stack.socket(1, stack.devToken(1, user)),
          WAIT)) {
        socket.awaitFrame(f -> "message".equals(f.type()) && id.equals(f.json().path("id").asText()), WAIT);
      } // closed before the client acked
      int done = cycle;
      Await.until("the entry handed back after cycle " + done, WAIT,
          () -> probe.mailboxState(user, id).startsWith("pending"), () -> probe.mailboxState(user, id));
    }

    try (TestSocketClient socket = TestSocketClient.connectWithoutAcks(stack.socket(1, stack.devToken(1, user)),
        WAIT)) {
      PubsubMessage dead;
      try {
        dead = probe.awaitDeadLetter(id, WAIT);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("no dead letter; mailbox: " + probe.mailboxState(user, id), e);
      }
      assertEquals("handed_back", dead.getAttributesOrThrow(MessageAttributes.REASON));
      assertEquals(user, dead.getAttributesOrThrow(MessageAttributes.USER_ID));
      Await.until("the entry a dead-lettered tombstone", WAIT,
          () -> probe.mailboxState(user, id).startsWith("dead_lettered"), () -> probe.mailboxState(user, id));
      assertTrue(socket.messages().stream().noneMatch(f -> id.equals(f.json().path("id").asText())),
          "not handed out a sixth time");
    }
  }
}
