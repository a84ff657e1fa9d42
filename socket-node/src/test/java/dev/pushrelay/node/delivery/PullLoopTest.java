package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.testing.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The node's pulls on an in-memory subscription: order, end-to-end acks, nacks, lease extension, a deleted subscription. */
class PullLoopTest {
  private static final String SUB = "relay-deliveries-n1";
  private static final int DEADLINE = 9;
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final MemoryBroker broker = new MemoryBroker(nanos::get);
  private final List<String> received = new CopyOnWriteArrayList<>();
  private final List<AckReplyConsumer> replies = new CopyOnWriteArrayList<>();
  private final AtomicInteger gone = new AtomicInteger();
  private PullLoop loop;

  @AfterEach
  void stop() {
    if (loop != null) {
      loop.stop(2, TimeUnit.SECONDS);
    }
  }

  private void start() {
    broker.open("relay-deliveries-topic-n1", SUB, DEADLINE);
    loop = new PullLoop(broker, SUB, (PubsubMessage m, AckReplyConsumer reply) -> {
      received.add(m.getData().toStringUtf8());
      replies.add(reply);
    }, 1, DEADLINE, gone::incrementAndGet, nanos::get);
    loop.start();
  }

  private void publish(String data) {
    assertTrue(broker.publish("relay-deliveries-topic-n1", data, Map.of()));
  }

  @Test
  void messagesAreHandedOverInOrderAndAckedOnlyOnceTheReceiverSaysSo() throws Exception {
    start();
    for (int i = 0; i < 5; i++) {
      publish("d" + i);
    }
    Await.until("5 deliveries", WAIT, () -> received.size() == 5);
    assertEquals(List.of("d0", "d1", "d2", "d3", "d4"), received);
    assertEquals(List.of(), broker.acked(), "held until the receiver acks");
    replies.get(1).ack();
    Await.until("the ack", WAIT, () -> broker.acked().size() == 1);
    assertEquals(4, broker.held(SUB));
    assertTrue(loop.pulling());
  }

  /**
   * Messages so large that an answer of as many as a pull asks for passes what the channel takes: the pulls
   * ask for fewer, and every message comes, in order, instead of the same pull failing for ever.
   */
  @Test
  void answersTooLargeForTheChannelArePulledFewerAtATime() throws Exception {
    broker.answersUpTo(40_000);
    start();
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String data = i + ":" + "d".repeat(10_000);
      sent.add(data);
      publish(data);
    }
    Await.until("all 30 deliveries", WAIT, () -> received.size() == 30);
    assertEquals(sent, received);
  }

  @Test
  void aNackedMessageComesBackAtOnce() throws Exception {
    start();
    publish("d0");
    Await.until("the delivery", WAIT, () -> received.size() == 1);
    replies.get(0).nack();
    Await.until("the redelivery", WAIT, () -> received.size() == 2);
    assertEquals(List.of("d0", "d0"), received);
  }

  /** A message whose client has not acked keeps its lease: extended before it runs out, never handed out twice. */
  @Test
  void aHeldMessageHasItsLeaseExtended() throws Exception {
    start();
    publish("d0");
    Await.until("the delivery", WAIT, () -> received.size() == 1);
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(DEADLINE / 3 + 1));
    loop.extend();
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(DEADLINE - DEADLINE / 3)); // past the first lease, inside the second
    assertEquals(List.of(), broker.pullNow(SUB, 10), "still leased to the node");
    replies.get(0).ack();
    Await.until("the ack", WAIT, () -> broker.held(SUB) == 0);
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(DEADLINE));
    loop.extend(); // nothing held: nothing to extend
    assertEquals(1, received.size());
  }

  /** Another node's cleanup deleted the subscription: reported once, so the node fences itself. */
  @Test
  void aDeletedSubscriptionIsReportedOnce() throws Exception {
    start();
    broker.deleteSubscription(SUB);
    Await.until("the report", WAIT, () -> gone.get() == 1);
    Await.until("the unhealthy pull", WAIT, () -> !loop.pulling());
    assertEquals(1, gone.get());
  }

  @Test
  void quietOnlyOnceNothingCameForTheWholePeriodAndAllIsSettled() throws Exception {
    start();
    publish("d0");
    Await.until("the delivery", WAIT, () -> received.size() == 1);
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(5));
    assertFalse(loop.awaitQuiet(Duration.ofSeconds(1), Instant.now().plusMillis(100)), "a delivery is unsettled");
    replies.get(0).ack();
    assertTrue(loop.awaitQuiet(Duration.ofSeconds(1), Instant.now().plusSeconds(5)));
  }
}
