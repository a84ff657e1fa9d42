package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.node.ws.SocketFixture;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Control deliveries, as the send function's disconnect publishes them ({@link RelayPublisher#disconnect}):
 * the receiver closes the user's sockets here with 4001 and acks; nothing that reads deliveries as
 * messages (the receiver's message path, a sweep) takes one for a message, routes it again or parks it.
 */
class ControlDeliveryTest {
  private final SocketFixture node = new SocketFixture();
  private final Topology topology = Topology.standard();
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final BackToRequests backToRequests = new BackToRequests(
      new ParkFirst(mailbox, new RelayPublisher(pubsub, topology), node.clock), RelayMetrics.noop(Part.SOCKET_NODE));
  private final List<String> noSocketFor = new ArrayList<>();
  private final DeliveryReceiver receiver = new DeliveryReceiver("n1", node.hub, backToRequests,
      RelayMetrics.noop(Part.SOCKET_NODE), node.clock, MessageTracing.noop(), noSocketFor::add);

  @AfterEach
  void stop() {
    node.close();
  }

  /** The control delivery exactly as the send function publishes it. */
  private PubsubMessage disconnectOf(String user) {
    RecordingPublisher sent = new RecordingPublisher();
    new RelayPublisher(sent, topology).disconnect("n1", user).join();
    RecordingPublisher.Published p = sent.published().get(0);
    assertEquals(topology.deliveriesTopicFor("n1"), p.topic());
    assertEquals(user, p.message().orderingKey(), "ordered with the user's messages");
    return PubsubMessage.newBuilder().setData(com.google.protobuf.ByteString.copyFromUtf8(p.message().data()))
        .putAllAttributes(p.message().attributes()).setMessageId("ps-1").build();
  }

  private static AckReplyConsumer replyTo(AtomicReference<String> answer) {
    return new AckReplyConsumer() {
      @Override
      public void ack() {
        answer.set("ack");
      }

      @Override
      public void nack() {
        answer.set("nack");
      }
    };
  }

  @Test
  void aDisconnectClosesTheUsersSocketsHereWith4001AndIsAcked() throws Exception {
    SocketFixture.Socket a = node.live("u1");
    SocketFixture.Socket b = node.live("u1");
    SocketFixture.Socket other = node.live("u2");
    AtomicReference<String> answer = new AtomicReference<>("none");
    receiver.receiveMessage(disconnectOf("u1"), replyTo(answer));
    assertEquals("ack", answer.get());
    assertEquals(List.of(4001), a.jetty().closes());
    assertEquals(List.of(4001), b.jetty().closes());
    assertEquals(List.of(), other.jetty().closes());
    assertTrue(pubsub.published().isEmpty(), "never routed again");
    assertTrue(noSocketFor.isEmpty(), "not a delivery that missed its socket");
  }

  @Test
  void aDisconnectForAUserWithNoSocketHereIsAckedAndDoesNothing() {
    AtomicReference<String> answer = new AtomicReference<>("none");
    receiver.receiveMessage(disconnectOf("nobody"), replyTo(answer));
    assertEquals("ack", answer.get());
    assertTrue(pubsub.published().isEmpty());
    assertTrue(mailbox.entries().isEmpty(), "never parked");
  }

  @Test
  void aControlDeliveryIsNoMessageToParse() {
    assertTrue(Deliveries.parse(disconnectOf("u1"), "sub").isEmpty());
  }

  /** A dead node's subscription: its control deliveries are dropped, its messages routed again. */
  @Test
  void aSweepDropsAControlDelivery() {
    MemoryBroker broker = new MemoryBroker(System::nanoTime);
    broker.open("topic-dead", "sub-dead", 10);
    PubsubMessage control = disconnectOf("u1");
    broker.publish("topic-dead", control.getData().toStringUtf8(), control.getAttributesMap());
    SubscriptionSweeper.Sweep sweep = new SubscriptionSweeper(broker, backToRequests,
        new dev.pushrelay.routing.LiveRoute(new dev.pushrelay.testing.InMemoryRegistryStore(),
            new RelayPublisher(pubsub, topology), node.clock), Duration.ofMillis(5))
        .sweep("sub-dead", "dead", Duration.ofMillis(50), Instant.now().plusSeconds(5));
    assertEquals(new SubscriptionSweeper.Sweep(0, true), sweep);
    assertEquals(0, broker.held("sub-dead"));
    assertTrue(pubsub.published().isEmpty(), "nothing sent to the requests topic");
    assertTrue(mailbox.entries().isEmpty());
  }

  @Test
  void theOrderCarriesTheUserInItsAttributesAndNoPayload() {
    PubsubMessage control = disconnectOf("u1");
    assertEquals(MessageAttributes.CONTROL_DISCONNECT, control.getAttributesMap().get(MessageAttributes.CONTROL));
    assertEquals("u1", control.getAttributesMap().get(MessageAttributes.USER_ID));
    assertEquals("n1", control.getAttributesMap().get(MessageAttributes.NODE_ID));
  }
}
