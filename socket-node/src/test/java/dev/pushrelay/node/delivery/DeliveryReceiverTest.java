package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node's deliveries, with an in-memory mailbox and publisher: acked to Pub/Sub only once the client
 * acked; a delivery with no socket here is parked and sent back to the requests topic before it is
 * acked; a failed send-back is nacked, so Pub/Sub keeps its copy.
 */
class DeliveryReceiverTest {
  private final SocketFixture node = new SocketFixture();
  private final MutableClock clock = node.clock;
  private final Topology topology = Topology.standard();
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final List<String> noSocketFor = new ArrayList<>();
  private final DeliveryReceiver receiver = new DeliveryReceiver("n1", node.hub,
      new BackToRequests(new ParkFirst(mailbox, new RelayPublisher(pubsub, topology), clock),
          RelayMetrics.noop(Part.SOCKET_NODE)),
      RelayMetrics.noop(Part.SOCKET_NODE), clock, MessageTracing.noop(), noSocketFor::add);

  /** What the receiver told Pub/Sub about one delivery. */
  private static final class Reply implements AckReplyConsumer {
    volatile String answer = "none";

    @Override
    public void ack() {
      answer = "ack";
    }

    @Override
    public void nack() {
      answer = "nack";
    }
  }

  private static PubsubMessage delivery(RelayMessage m, Map<String, String> attributes) {
    return PubsubMessage.newBuilder().setData(ByteString.copyFromUtf8(m.toJson())).putAllAttributes(attributes)
        .setMessageId("ps-" + m.id()).build();
  }

  private RelayMessage message(String id, String user) {
    return new RelayMessage(id, user, "e", "{\"k\":1}", clock.instant(), 3600, Priority.NORMAL);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void aDeliveryIsAckedToPubSubOnlyOnceTheClientAckedIt() throws Exception {
    SocketFixture.Socket c = node.live("u1");
    Reply reply = new Reply();
    receiver.receiveMessage(delivery(message("m1", "u1"), Map.of()), reply);
    assertEquals(List.of("m1"), c.messageIds(), "written at once");
    assertEquals("none", reply.answer, "held until the client acks");
    c.ack("m1");
    assertEquals("ack", reply.answer);
    assertTrue(pubsub.published().isEmpty());
  }

  @Test
  void aDeliveryWithNoSocketHereIsParkedAndSentBackBeforeItIsAcked() {
    Reply reply = new Reply();
    receiver.receiveMessage(delivery(message("m2", "u2"), Map.of(MessageAttributes.REROUTES, "1")), reply);
    assertEquals("ack", reply.answer);
    assertEquals(List.of("u2"), noSocketFor, "the registry's stale entry is looked for");
    assertEquals(1, mailbox.entries().size(), "parked first: the user's next socket has it");
    List<RecordingPublisher.Published> back = pubsub.on(topology.requestsTopic());
    assertEquals(1, back.size());
    assertEquals("n1", back.get(0).message().attributes().get(MessageAttributes.REROUTED_FROM));
    assertEquals("2", back.get(0).message().attributes().get(MessageAttributes.REROUTES), "one more re-route");
  }

  @Test
  void aSocketThatClosesBeforeTheClientAckedSendsTheMessageBack() throws Exception {
    SocketFixture.Socket c = node.live("u3");
    Reply reply = new Reply();
    receiver.receiveMessage(delivery(message("m3", "u3"), Map.of()), reply);
    assertEquals("none", reply.answer);
    c.closedBy(1001);
    assertEquals("ack", reply.answer, "acked once it is back on the requests topic");
    assertEquals(1, pubsub.on(topology.requestsTopic()).size());
  }

  @Test
  void aSendBackThatFailsIsNackedSoPubSubKeepsTheDelivery() {
    pubsub.failWith(new RuntimeException("Pub/Sub unavailable"));
    Reply reply = new Reply();
    receiver.receiveMessage(delivery(message("m4", "u4"), Map.of()), reply);
    assertEquals("nack", reply.answer);
  }

  @Test
  void aDeliveryThatIsNoRelayMessageIsDroppedNotRedeliveredForever() {
    Reply reply = new Reply();
    receiver.receiveMessage(PubsubMessage.newBuilder().setData(ByteString.copyFromUtf8("{\"nope\":1}")).build(),
        reply);
    assertEquals("ack", reply.answer);
    assertTrue(pubsub.published().isEmpty());
  }
}
