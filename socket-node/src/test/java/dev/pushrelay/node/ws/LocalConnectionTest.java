package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class LocalConnectionTest {
  private static final Duration WINDOW = Duration.ofSeconds(10);
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final List<String> frames = new ArrayList<>();

  private LocalConnection live() {
    LocalConnection c = new LocalConnection("c1", "u1", new OutboundQueue((text, written, failed) -> {
      frames.add(text);
      written.run();
    }, 4096), clock);
    c.goLive();
    return c;
  }

  private RelayMessage message(String id) {
    return new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL);
  }

  /**
   * A burst larger than the re-delivery window: every ack the client owes is still recognised as owed
   * (so it costs nothing against the inbound rate limit), and only once.
   */
  @Test
  void everyAckOfABurstIsOwedOnceEvenBeyondTheUnackedWindow() {
    LocalConnection c = live();
    for (int i = 0; i < 1000; i++) {
      c.deliver(message("m" + i));
    }
    for (int i = 0; i < 1000; i++) {
      assertTrue(c.acked("m" + i), "ack of m" + i);
    }
    assertFalse(c.acked("m0"), "an ack repeated is not owed");
    assertFalse(c.acked("never-written"));
  }

  /** End-to-end acknowledgement: written is not settled; the client's ack settles it. */
  @Test
  void aDeliveryIsSettledByTheClientsAck() {
    LocalConnection c = live();
    CompletableFuture<DeliveryOutcome> settled = c.deliver(message("m1"));
    assertEquals(1, frames.size(), "written at once");
    assertFalse(settled.isDone(), "not settled before the client acks");
    c.acked("m1");
    assertEquals(DeliveryOutcome.DELIVERED, settled.join());
  }

  /** A socket that closes before the ack hands the message back: whoever gave it routes it again. */
  @Test
  void aCloseBeforeTheAckSettlesNoSocket() {
    LocalConnection c = live();
    CompletableFuture<DeliveryOutcome> settled = c.deliver(message("m1"));
    c.closed(WINDOW);
    assertEquals(DeliveryOutcome.NO_SOCKET, settled.join());
    assertEquals(DeliveryOutcome.NO_SOCKET, c.deliver(message("m2")).join(), "a closed socket takes nothing");
  }

  /** A client that never acks: each message settles as delivered once the window has run out. */
  @Test
  void aClientThatNeverAcksSettlesAtTheEndOfTheWindow() {
    LocalConnection c = live();
    CompletableFuture<DeliveryOutcome> old = c.deliver(message("m1"));
    clock.advance(Duration.ofSeconds(6));
    CompletableFuture<DeliveryOutcome> young = c.deliver(message("m2"));
    clock.advance(Duration.ofSeconds(5));
    c.expireUnacked(WINDOW);
    assertEquals(DeliveryOutcome.DELIVERED, old.join());
    assertFalse(young.isDone());
    assertTrue(c.acked("m1"), "a late ack of a settled message is still owed, not abuse");
    c.closed(WINDOW);
    assertEquals(DeliveryOutcome.NO_SOCKET, young.join());
  }

  /** More unacked than the socket keeps: the oldest is pushed out and counts as delivered. */
  @Test
  void theOldestUnackedIsSettledWhenTheWindowIsFull() {
    LocalConnection c = live();
    CompletableFuture<DeliveryOutcome> first = c.deliver(message("m0"));
    for (int i = 1; i <= LocalConnection.UNACKED_LIMIT; i++) {
      c.deliver(message("m" + i));
    }
    assertEquals(DeliveryOutcome.DELIVERED, first.join());
    assertEquals(LocalConnection.UNACKED_LIMIT, c.unackedCount());
  }

  /** Held back during the catch-up, written in order after it, one id at most once. */
  @Test
  void deliveriesDuringTheCatchUpFollowTheMailboxAndRepeatsAreDropped() {
    LocalConnection c = new LocalConnection("c1", "u1", new OutboundQueue((text, written, failed) -> {
      frames.add(text);
      written.run();
    }, 4096), clock);
    CompletableFuture<DeliveryOutcome> live = c.deliver(message("live"));
    assertTrue(frames.isEmpty(), "held while catching up");
    c.catchUp(message("parked")).written().join();
    c.goLive();
    assertEquals(2, frames.size());
    assertTrue(frames.get(0).contains("\"parked\"") && frames.get(1).contains("\"live\""), frames.toString());
    assertEquals(DeliveryOutcome.DUPLICATE_SUPPRESSED, c.deliver(message("parked")).join());
    c.acked("live");
    assertEquals(DeliveryOutcome.DELIVERED, live.join());
  }

  /** A frame the socket could not take is not settled as delivered. */
  @Test
  void aFailedWriteSettlesNoSocket() {
    LocalConnection c = new LocalConnection("c1", "u1", new OutboundQueue((text, written, failed) ->
        failed.accept(new IllegalStateException("gone")), 4096), clock);
    c.goLive();
    assertEquals(DeliveryOutcome.NO_SOCKET, c.deliver(message("m1")).join());
    assertEquals(0, c.unackedCount());
  }

  private RelayMessage acceptedAt(String id, int second) {
    return new RelayMessage(id, "u1", "e", null, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(second), 3600,
        Priority.NORMAL);
  }

  private LocalConnection catchingUp() {
    return new LocalConnection("c1", "u1", new OutboundQueue((text, written, failed) -> {
      frames.add(text);
      written.run();
    }, 4096), clock);
  }

  private List<String> writtenIds() {
    return frames.stream().map(f -> f.replaceAll(".*\"id\":\"([^\"]+)\".*", "$1")).toList();
  }

  /**
   * Across a reconnect: a message parked while the catch-up read (found by the second look) and one
   * routed live after parking (the route function's look after parking, or a retry) are both older
   * than the live messages that came meanwhile, and are written ahead of them, in accept order.
   */
  @Test
  void whileSettlingParkedAndLateRoutedMessagesGoAheadOfNewerLiveOnes() {
    LocalConnection c = catchingUp();
    c.catchUp(acceptedAt("p1", 1));
    c.catchUp(acceptedAt("p2", 2));
    c.settle();
    c.deliver(acceptedAt("live5", 5));
    c.deliver(acceptedAt("retried3", 3)); // routed live after parking, behind a newer live one
    LocalConnection.Write late = c.catchUp(acceptedAt("p4", 4)); // the second look's find
    c.deliver(acceptedAt("live6", 6));
    assertEquals(List.of("p1", "p2"), writtenIds(), "held while settling");
    assertFalse(late.written().isDone());
    c.goLive();
    assertEquals(List.of("p1", "p2", "retried3", "p4", "live5", "live6"), writtenIds());
    assertEquals(DeliveryOutcome.DELIVERED, late.written().join());
    c.deliver(acceptedAt("live7", 7));
    c.deliver(acceptedAt("live8", 8));
    assertEquals(List.of("live7", "live8"), writtenIds().subList(6, 8), "live: in arrival order");
  }

  /** What was held while settling goes out high priority first, then the rest; each in accept order. */
  @Test
  void whileSettlingHighPriorityMessagesAreHeldAheadOfNormalOnes() {
    LocalConnection c = catchingUp();
    c.settle();
    c.deliver(acceptedAt("n1", 1));
    RelayMessage h = acceptedAt("h2", 2);
    c.deliver(new RelayMessage(h.id(), h.userId(), h.event(), h.dataJson(), h.sentAt(), h.ttlSeconds(), Priority.HIGH));
    c.deliver(acceptedAt("n3", 3));
    c.goLive();
    assertEquals(List.of("h2", "n1", "n3"), writtenIds());
  }

  /** A socket that closes while settling hands every held message back, written or not. */
  @Test
  void aCloseWhileSettlingSettlesHeldMessagesNoSocket() {
    LocalConnection c = catchingUp();
    c.settle();
    CompletableFuture<DeliveryOutcome> routed = c.deliver(acceptedAt("live", 2));
    LocalConnection.Write parked = c.catchUp(acceptedAt("parked", 1));
    c.closed(WINDOW);
    assertEquals(DeliveryOutcome.NO_SOCKET, routed.join());
    assertEquals(DeliveryOutcome.NO_SOCKET, parked.written().join());
    assertEquals(DeliveryOutcome.NO_SOCKET, parked.settled().join());
    assertTrue(frames.isEmpty());
  }

  /**
   * A client that never acks holds a bounded weight of the node's memory: large messages push the
   * oldest unacked ones out (settled as delivered, their acks still owed) long before 256 of them.
   */
  @Test
  void unackedMessagesAreBoundedByWeightToo() {
    LocalConnection c = live();
    String data = "\"" + "x".repeat(150 * 1024) + "\"";
    List<CompletableFuture<DeliveryOutcome>> settled = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      settled.add(c.deliver(new RelayMessage("big" + i, "u1", "e", data, clock.instant(), 3600, Priority.NORMAL)));
    }
    assertTrue(c.unackedCount() <= LocalConnection.UNACKED_BYTES / (150 * 1024), "held: " + c.unackedCount());
    assertEquals(DeliveryOutcome.DELIVERED, settled.get(0).getNow(null), "the oldest pushed out");
    assertFalse(settled.get(19).isDone(), "the newest still waits for its ack");
    assertTrue(c.acked("big0"), "its ack is still owed");
  }
}
