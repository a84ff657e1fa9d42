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
    mailbox.park(new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL), Map.of(), 1, false,
        10, clock.instant()).get();
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
    catchUp.run(socket("c1", first)).get();
    clock.advance(Duration.ofSeconds(1));
    catchUp.run(socket("c2", second)).get();
    for (String id : List.of("m1", "m2")) {
      assertEquals(1, count(first, id), id + " on the first socket");
      assertEquals(1, count(second, id), id + " on the second socket");
    }
    assertTrue(mailbox.entries().values().stream().allMatch(e -> e.state().equals("delivered")
        && e.claimedBy().equals("c1")), "the first socket's claim stands: " + mailbox.entries());
  }

  @Test
  void aSocketThatComesLongAfterTheDrainGetsNothingAgain() throws Exception {
    park("m1");
    catchUp.run(socket("c1", new ArrayList<>())).get();
    clock.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    List<String> late = new ArrayList<>();
    catchUp.run(socket("c2", late)).get();
    assertEquals(0, count(late, "m1"));
  }
}
