package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.SocketFixture;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every socket the user holds when its parked messages are written gets them, each once. */
class MailboxCatchUpTest {
  /** Each socket's looks are the real catch-up's, on the in-memory mailbox. */
  private final SocketFixture node = SocketFixture.serving((user, id, caughtUp) -> this.catchUp.look(user, id, caughtUp));
  private final MutableClock clock = node.clock;
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final RecordingPublisher published = new RecordingPublisher();
  private final MailboxCatchUp catchUp = new MailboxCatchUp(mailbox, clock, RelayMetrics.noop(Part.SOCKET_NODE),
      new MessageTracing(Telemetry.local("test")), new RelayPublisher(published, Topology.standard()));

  private void park(String id) throws Exception {
    park(id, Priority.NORMAL);
  }

  private void park(String id, Priority priority) throws Exception {
    mailbox.park(new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, priority), 1, false,
        10, clock.instant()).get();
  }

  /** A catch-up writes high priority messages first, then the rest; each group in accept order. */
  @Test
  void highPriorityMessagesComeFirstInACatchUp() throws Exception {
    park("n1");
    clock.advance(Duration.ofMillis(1));
    park("h1", Priority.HIGH);
    clock.advance(Duration.ofMillis(1));
    park("n2");
    clock.advance(Duration.ofMillis(1));
    park("h2", Priority.HIGH);
    SocketFixture.Socket s = socket("c1");
    List<String> frames = s.sent().stream().filter(f -> f.contains("\"message\"")).toList();
    List<String> ids = s.messageIds();
    assertEquals(List.of("h1", "h2", "n1", "n2"), ids);
    assertTrue(frames.get(0).contains("\"priority\":\"high\""), "a high message says so in its frame");
    assertTrue(!frames.get(2).contains("priority"), "a normal one carries no priority");
  }

  @AfterEach
  void stop() {
    node.close();
  }

  /** A socket of user u1, catching up. */
  private SocketFixture.Socket socket(String id) throws Exception {
    return node.openAs(id, "u1");
  }

  private static long count(List<String> ids, String id) {
    return ids.stream().filter(id::equals).count();
  }

  @Test
  void twoSocketsThatRegisterTogetherBothGetTheParkedMessages() throws Exception {
    park("m1");
    park("m2");
    SocketFixture.Socket c1 = socket("c1");
    clock.advance(Duration.ofSeconds(1));
    SocketFixture.Socket c2 = socket("c2");
    c1.ack("m1");
    c1.ack("m2");
    List<String> first = c1.messageIds();
    List<String> second = c2.messageIds();
    for (String id : List.of("m1", "m2")) {
      assertEquals(1, count(first, id), id + " on the first socket");
      assertEquals(1, count(second, id), id + " on the second socket");
    }
    assertTrue(mailbox.entries().values().stream().allMatch(e -> e.state().equals("delivered")
        && e.claimedBy().equals("c1")), "the first socket's claim stands: " + mailbox.entries());
  }

  /** End-to-end acknowledgement: an entry is marked delivered only once the client acked the message. */
  @Test
  void anEntryIsDeliveredOnlyOnceTheClientAcksIt() throws Exception {
    park("m1");
    SocketFixture.Socket c1 = socket("c1");
    assertEquals("claimed", mailbox.entries().values().iterator().next().state(), "written, not acked yet");
    c1.ack("m1");
    assertEquals("delivered", mailbox.entries().values().iterator().next().state());
  }

  /** A socket that closes before the client acked puts the entry back: the next socket gets it. */
  @Test
  void aSocketThatClosesBeforeTheAckGivesTheEntryBack() throws Exception {
    park("m1");
    SocketFixture.Socket c1 = socket("c1");
    c1.closedBy(1001);
    assertEquals("pending", mailbox.entries().values().iterator().next().state());
    clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    SocketFixture.Socket next = socket("c2");
    assertEquals(1, count(next.messageIds(), "m1"));
  }

  /** A client that never acks: once the unacked window runs out the entry counts as delivered. */
  @Test
  void aClientThatNeverAcksSettlesAtTheEndOfTheWindow() throws Exception {
    park("m1");
    SocketFixture.Socket c1 = socket("c1");
    node.advanceInTicks(Duration.ofSeconds(11));
    assertEquals("delivered", mailbox.entries().values().iterator().next().state());
  }

  /**
   * A user whose sockets take the backlog and close before acking, over and over: after
   * {@link Mailbox#MAX_CLAIMS} claims the next look dead-letters the entry with its reason instead of
   * handing it out again, and takes it out of the mailbox.
   */
  @Test
  void anEntryHandedBackTooOftenGoesToTheDeadLetterTopicWithItsReason() throws Exception {
    park("m1");
    for (int cycle = 1; cycle <= Mailbox.MAX_CLAIMS; cycle++) {
      SocketFixture.Socket s = socket("c" + cycle);
      assertEquals(1, count(s.messageIds(), "m1"), "cycle " + cycle + " hands it out");
      s.closedBy(1001);
      clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    }
    assertTrue(published.published().isEmpty(), "nothing dead-lettered before the limit");

    SocketFixture.Socket last = socket("c-last");
    assertEquals(0, count(last.messageIds(), "m1"), "not handed to a socket again");
    List<RecordingPublisher.Published> deadLetters = published.on(Topology.standard().deadLetterTopic());
    assertEquals(1, deadLetters.size(), published.published()::toString);
    assertEquals("handed_back", deadLetters.get(0).message().attributes().get(MessageAttributes.REASON));
    assertEquals("m1", deadLetters.get(0).message().attributes().get(MessageAttributes.MESSAGE_ID));
    assertEquals("dead_lettered", mailbox.entries().values().iterator().next().state(),
        "a tombstone the route function's retries find settled");
    assertEquals(ParkOutcome.ALREADY_DEAD_LETTERED, mailbox.park(new RelayMessage("m1", "u1", "e", null,
        clock.instant(), 3600, Priority.NORMAL), 4, true, 10, clock.instant()).get(), "a retry parks it no more");
  }

  @Test
  void aSocketThatComesLongAfterTheDrainGetsNothingAgain() throws Exception {
    park("m1");
    SocketFixture.Socket c1 = socket("c1");
    c1.ack("m1");
    clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    SocketFixture.Socket late = socket("c2");
    assertEquals(0, count(late.messageIds(), "m1"));
  }
}
