package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.LocalConnection;
import dev.pushrelay.node.ws.OutboundQueue;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.tracing.MessageTracing;
import dev.pushrelay.metrics.Telemetry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every socket the user holds when its parked messages are written gets them, each once. */
class MailboxCatchUpTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final MailboxCatchUp catchUp = new MailboxCatchUp(mailbox, clock, RelayMetrics.noop(Part.SOCKET_NODE),
      new MessageTracing(Telemetry.local("test")));

  private void park(String id) throws Exception {
    park(id, Priority.NORMAL);
  }

  private void park(String id, Priority priority) throws Exception {
    mailbox.park(new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, priority), Map.of(), 1, false,
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
    List<String> frames = new ArrayList<>();
    catchUp.run(socket("c1", frames)).get();
    List<String> ids = frames.stream().map(f -> f.replaceAll(".*\"id\":\"([^\"]+)\".*", "$1")).toList();
    assertEquals(List.of("h1", "h2", "n1", "n2"), ids);
    assertTrue(frames.get(0).contains("\"priority\":\"high\""), "a high message says so in its frame");
    assertTrue(!frames.get(2).contains("priority"), "a normal one carries no priority");
  }

  /** A socket of user u1 whose frames land in {@code frames}. */
  private LocalConnection socket(String id, List<String> frames) {
    return new LocalConnection(id, "u1", new OutboundQueue((text, written, failed) -> {
      frames.add(text);
      written.run();
    }, 16), clock);
  }

  private static long count(List<String> frames, String id) {
    return frames.stream().filter(f -> f.contains("\"id\":\"" + id + "\"")).count();
  }

  @Test
  void twoSocketsThatRegisterTogetherBothGetTheParkedMessages() throws Exception {
    park("m1");
    park("m2");
    List<String> first = new ArrayList<>();
    List<String> second = new ArrayList<>();
    LocalConnection c1 = socket("c1", first);
    catchUp.run(c1).get();
    clock.advance(Duration.ofSeconds(1));
    catchUp.run(socket("c2", second)).get();
    c1.acked("m1");
    c1.acked("m2");
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
    LocalConnection c1 = socket("c1", new ArrayList<>());
    catchUp.run(c1).get();
    assertEquals("claimed", mailbox.entries().values().iterator().next().state(), "written, not acked yet");
    c1.acked("m1");
    assertEquals("delivered", mailbox.entries().values().iterator().next().state());
  }

  /** A socket that closes before the client acked puts the entry back: the next socket gets it. */
  @Test
  void aSocketThatClosesBeforeTheAckGivesTheEntryBack() throws Exception {
    park("m1");
    LocalConnection c1 = socket("c1", new ArrayList<>());
    catchUp.run(c1).get();
    c1.closed(Duration.ofSeconds(10));
    assertEquals("pending", mailbox.entries().values().iterator().next().state());
    clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    List<String> next = new ArrayList<>();
    catchUp.run(socket("c2", next)).get();
    assertEquals(1, count(next, "m1"));
  }

  /** A client that never acks: once the unacked window runs out the entry counts as delivered. */
  @Test
  void aClientThatNeverAcksSettlesAtTheEndOfTheWindow() throws Exception {
    park("m1");
    LocalConnection c1 = socket("c1", new ArrayList<>());
    catchUp.run(c1).get();
    clock.advance(Duration.ofSeconds(11));
    c1.expireUnacked(Duration.ofSeconds(10));
    assertEquals("delivered", mailbox.entries().values().iterator().next().state());
  }

  @Test
  void aSocketThatComesLongAfterTheDrainGetsNothingAgain() throws Exception {
    park("m1");
    LocalConnection c1 = socket("c1", new ArrayList<>());
    catchUp.run(c1).get();
    c1.acked("m1");
    clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    List<String> late = new ArrayList<>();
    catchUp.run(socket("c2", late)).get();
    assertEquals(0, count(late, "m1"));
  }
}
