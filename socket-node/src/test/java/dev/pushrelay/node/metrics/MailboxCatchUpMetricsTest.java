package dev.pushrelay.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.delivery.MailboxCatchUp;
import dev.pushrelay.node.ws.SocketFixture;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.MetricsProbe;
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

/**
 * Draining a mailbox on connect counts the drained messages and their latency on the mailbox path, and
 * traces each write under the trace it was parked with.
 */
class MailboxCatchUpMetricsTest {
  private final SocketFixture node = SocketFixture.serving((user, id, caughtUp) -> this.catchUp.look(user, id, caughtUp));
  private final MutableClock clock = node.clock;
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final MetricsProbe probe = new MetricsProbe();
  private final MailboxCatchUp catchUp = new MailboxCatchUp(mailbox, clock, probe.relayMetrics(Part.SOCKET_NODE),
      new MessageTracing(probe.telemetry()), new RelayPublisher(new RecordingPublisher(), Topology.standard()));
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

  @AfterEach
  void close() {
    probe.close();
    node.close();
  }

  private RelayMessage parked(String id) throws Exception {
    RelayMessage m = new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL)
        .withTrace(Map.of(MessageTracing.TRACEPARENT, "00-" + TRACE_ID + "-00f067aa0ba902b7-01"));
    mailbox.park(m, 1, false, 10, clock.instant()).get();
    return m;
  }

  @Test
  void drainedMessagesAndTheirLatencyAreCounted() throws Exception {
    parked("m1");
    parked("m2");
    clock.advance(Duration.ofSeconds(3));
    SocketFixture.Socket socket = node.open("u1"); // its catch-up writes the parked messages
    socket.ack("m1");
    socket.ack("m2");

    assertEquals(List.of("m1", "m2"), socket.messageIds());
    assertEquals(2, probe.value(RelayMetrics.MAILBOX_DRAINED));
    assertEquals(2, probe.value(RelayMetrics.MESSAGE_DELIVERY, "outcome", "delivered"));
    assertEquals(2, probe.count(RelayMetrics.DELIVERY_LATENCY, "path", "mailbox"));
    assertEquals(6.0, probe.sum(RelayMetrics.DELIVERY_LATENCY, "path", "mailbox"), 1e-9);
    assertEquals(0, probe.count(RelayMetrics.DELIVERY_LATENCY, "path", "live"));
    // each socket write joins the trace its message was parked under
    assertEquals(2, probe.spans().stream().filter(s -> s.getTraceId().equals(TRACE_ID)
        && "mailbox".equals(s.getAttributes().get(MessageTracing.PATH))
        && "delivered".equals(s.getAttributes().get(MessageTracing.OUTCOME))).count());
  }
}
