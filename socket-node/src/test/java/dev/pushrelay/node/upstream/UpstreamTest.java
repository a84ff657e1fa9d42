package dev.pushrelay.node.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.pubsub.UpstreamMessages.Socket;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.tracing.MessageTracing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The node's upstream publishes and connection events, against a publisher the test holds. */
class UpstreamTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final HeldPublisher pubsub = new HeldPublisher();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final Upstream upstream = new Upstream(pubsub, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE),
      MessageTracing.noop(), timers);
  private final Socket socket = new Socket("u1", "c1", "n1");
  private final UpstreamLane lane = new UpstreamLane();

  @AfterEach
  void stop() {
    timers.shutdownNow();
  }

  private static ClientFrame.Publish frame(String id, String json) throws Exception {
    return (ClientFrame.Publish) ClientFrame.parse(
        "{\"type\":\"publish\",\"id\":\"" + id + "\",\"event\":\"echo\",\"data\":" + json + "}");
  }

  @Test
  void aPublishIsAnsweredAcceptedOnlyOncePubSubHasTakenIt() throws Exception {
    pubsub.hold();
    CompletableFuture<UpstreamAnswer> answer = upstream.publish(lane, socket, frame("p1", "{\"userId\":\"forged\"}"));
    assertFalse(answer.isDone());
    pubsub.release();
    assertTrue(answer.get(5, TimeUnit.SECONDS).accepted());
    OutboundMessage m = pubsub.published().get(0);
    JsonNode data = JsonCodec.read(m.data());
    assertEquals("u1", data.get("userId").asText(), "the verified user, not the one in data");
    assertEquals("forged", data.at("/data/userId").asText());
    assertEquals("p1", data.get("id").asText());
    assertEquals("c1", data.get("connectionId").asText());
    assertEquals("n1", data.get("nodeId").asText());
    assertEquals("echo", data.get("event").asText());
    assertTrue(data.has("receivedAt"));
    assertEquals("message", m.attributes().get("type"));
    assertEquals("u1", m.attributes().get("user_id"));
    assertEquals("c1", m.attributes().get("connection_id"));
    assertEquals("n1", m.attributes().get("node_id"));
    assertEquals("echo", m.attributes().get("event"));
    assertEquals("c1", m.orderingKey());
  }

  @Test
  void aRepeatOfAnAcceptedIdIsAcceptedWithoutASecondPublish() throws Exception {
    assertTrue(upstream.publish(lane, socket, frame("p1", "1")).get(5, TimeUnit.SECONDS).accepted());
    assertTrue(upstream.publish(lane, socket, frame("p1", "1")).get(5, TimeUnit.SECONDS).accepted());
    assertEquals(1, pubsub.published().size());
  }

  @Test
  void aRepeatOfAnIdInFlightSharesItsAnswer() throws Exception {
    pubsub.hold();
    CompletableFuture<UpstreamAnswer> first = upstream.publish(lane, socket, frame("p1", "1"));
    CompletableFuture<UpstreamAnswer> again = upstream.publish(lane, socket, frame("p1", "1"));
    pubsub.release();
    assertTrue(first.get(5, TimeUnit.SECONDS).accepted());
    assertTrue(again.get(5, TimeUnit.SECONDS).accepted());
    assertEquals(1, pubsub.published().size());
  }

  /** One socket's publishes reach Pub/Sub one after the other, in the order the client sent them. */
  @Test
  void aSocketsPublishesGoOutOneAfterTheOtherInOrder() throws Exception {
    pubsub.hold();
    CompletableFuture<UpstreamAnswer> a = upstream.publish(lane, socket, frame("a", "1"));
    CompletableFuture<UpstreamAnswer> b = upstream.publish(lane, socket, frame("b", "2"));
    assertEquals(1, pubsub.published().size(), "b waits for a");
    pubsub.fail(new RuntimeException("unavailable"));
    assertEquals("unavailable", a.get(5, TimeUnit.SECONDS).code());
    assertEquals(2, pubsub.published().size(), "b goes once a has ended");
    pubsub.release();
    assertTrue(b.get(5, TimeUnit.SECONDS).accepted());
    assertEquals(List.of("a", "b"), pubsub.published().stream().map(UpstreamTest::idOf).toList());
  }

  /** A failed publish may be sent again with its id, and is then published again. */
  @Test
  void aFailedPublishCanBeSentAgainWithTheSameId() throws Exception {
    pubsub.hold();
    CompletableFuture<UpstreamAnswer> a = upstream.publish(lane, socket, frame("a", "1"));
    pubsub.fail(new RuntimeException("down"));
    assertEquals("unavailable", a.get(5, TimeUnit.SECONDS).code());
    pubsub.release();
    assertTrue(upstream.publish(lane, socket, frame("a", "1")).get(5, TimeUnit.SECONDS).accepted());
    assertEquals(2, pubsub.published().size());
  }

  /** A publisher that throws instead of failing its future still gets the client an answer. */
  @Test
  void aPublisherThatThrowsIsAnsweredUnavailable() throws Exception {
    Upstream throwing = new Upstream((topic, message) -> {
      throw new IllegalStateException("closed");
    }, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE), MessageTracing.noop(), timers);
    assertEquals("unavailable", throwing.publish(lane, socket, frame("t", "1")).get(5, TimeUnit.SECONDS).code());
  }

  @Test
  void tooManyPublishesWaitingAreRefusedAsRateLimited() throws Exception {
    pubsub.hold();
    for (int i = 0; i < UpstreamLane.MAX_WAITING; i++) {
      upstream.publish(lane, socket, frame("p" + i, "1"));
    }
    assertEquals("rate_limited", upstream.publish(lane, socket, frame("over", "1")).get(5, TimeUnit.SECONDS).code());
    pubsub.release();
  }

  /** A connection event is retried until Pub/Sub takes it. */
  @Test
  void aConnectionEventIsRetriedUntilPublished() throws Exception {
    pubsub.hold();
    CompletableFuture<Void> event = upstream.disconnected(lane, socket, clock.instant(), 1000);
    pubsub.fail(new RuntimeException("down"));
    Await.until("a second attempt held by Pub/Sub", Duration.ofSeconds(5), () -> pubsub.waiting() > 0);
    assertEquals(2, pubsub.published().size(), "tried again after the first attempt failed");
    assertFalse(event.isDone());
    pubsub.release();
    event.get(5, TimeUnit.SECONDS);
  }

  /** connected, then the publishes, then disconnected: one socket's upstream order, whatever Pub/Sub's pace. */
  @Test
  void aSocketsEventsFrameItsPublishesOnItsLane() throws Exception {
    pubsub.hold();
    upstream.connected(lane, socket, clock.instant());
    CompletableFuture<UpstreamAnswer> p = upstream.publish(lane, socket, frame("p", "1"));
    CompletableFuture<Void> gone = upstream.disconnected(lane, socket, clock.instant(), 1000);
    assertEquals(List.of("connected"), pubsub.types(), "the publish waits for the connected event");
    pubsub.release();
    assertTrue(p.get(5, TimeUnit.SECONDS).accepted());
    gone.get(5, TimeUnit.SECONDS);
    assertEquals(List.of("connected", "message", "disconnected"), pubsub.types());
  }

  @Test
  void theSocketsOfALostNodeAreReportedDisconnectedWithReasonNodeLost() throws Exception {
    Instant at = clock.instant();
    clock.advance(Duration.ofSeconds(7));
    upstream.nodeLost(List.of(new ConnectionRecord("c1", "u1", "dead", at), new ConnectionRecord("c2", "u2", "dead", at)),
        Duration.ofSeconds(10)).get(5, TimeUnit.SECONDS);
    assertEquals(List.of("disconnected", "disconnected"), pubsub.types());
    OutboundMessage m = pubsub.published().get(0);
    assertEquals("node_lost", m.attributes().get("reason"));
    JsonNode data = JsonCodec.read(m.data());
    assertTrue(data.get("closeCode").isNull());
    assertEquals(7000, data.get("livedMs").asLong());
    assertEquals("dead", data.get("nodeId").asText());
  }

  private static String idOf(OutboundMessage m) {
    try {
      return JsonCodec.read(m.data()).get("id").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
