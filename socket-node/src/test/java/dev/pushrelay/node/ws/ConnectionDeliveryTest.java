package dev.pushrelay.node.ws;

import static dev.pushrelay.node.ws.SocketFixture.acceptedAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a socket does with the messages handed to it: held while it catches up and settles, written in
 * accept order, each id at most once, settled by the client's ack (end to end), handed back at a close.
 */
class ConnectionDeliveryTest {
  private final SocketFixture node = new SocketFixture();

  @AfterEach
  void stop() {
    node.close();
  }

  private static String ack(String id) {
    return "{\"type\":\"ack\",\"id\":\"" + id + "\"}";
  }

  /** End to end acknowledgement: written is not settled; the client's ack settles it. */
  @Test
  void aDeliveryIsSettledByTheClientsAck() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    CompletableFuture<SocketOutcome> settled = s.connection().deliver(node.message("m1"));
    assertEquals(List.of("m1"), s.messageIds(), "written at once");
    assertFalse(settled.isDone(), "not settled before the client acks");
    s.text(ack("m1"));
    assertEquals(SocketOutcome.DELIVERED, settled.join());
  }

  /**
   * A burst larger than the unacked window: every ack the client owes is still recognised as owed (so it
   * costs nothing against the inbound rate limit of 10 a second after a burst of 20), and only once.
   */
  @Test
  void everyAckOfABurstIsOwedEvenBeyondTheUnackedWindowAndCostsNothing() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    for (int i = 0; i < 1000; i++) {
      s.connection().deliver(node.message("m" + i));
    }
    for (int i = 0; i < 1000; i++) {
      s.text(ack("m" + i));
    }
    assertEquals(List.of(), s.jetty().closes(), "owed acks are not abuse");
    assertTrue(s.sent().stream().noneMatch(f -> f.contains("rate_limited")), "nor refused");
    for (int i = 0; i < 30; i++) {
      s.text(ack("m0")); // repeated: no longer owed, each costs a token
    }
    assertTrue(s.sent().stream().anyMatch(f -> f.contains("rate_limited")), "an ack repeated is not owed");
  }

  /**
   * The acks of a catch-up burst come while the socket's events are busy on another thread (there, a
   * late mailbox look that takes long): they still cost nothing. The fault suite's drain lost messages
   * to this once: the acks were counted on arrival and given back only when their event ran, so a
   * client acking 40 caught-up messages was closed for flooding.
   */
  @Test
  void acksThatComeWhileTheSocketIsBusyCostNothing() throws Exception {
    java.util.concurrent.CountDownLatch lookGoesOn = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch looking = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
    try (SocketFixture busy = new SocketFixture(SocketLimits.defaults(), null, (user, id, caughtUp) -> {
      if (runs.incrementAndGet() == 3) { // the late look: it holds the socket's events until let go
        looking.countDown();
        try {
          lookGoesOn.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return CompletableFuture.completedFuture(SocketFixture.nothing());
    }, 10)) {
      SocketFixture.Socket s = busy.live("u1");
      for (int i = 0; i < 60; i++) {
        s.connection().deliver(busy.message("m" + i));
      }
      Thread timer = new Thread(() -> busy.advance(Duration.ofSeconds(4)));
      timer.start();
      assertTrue(looking.await(10, java.util.concurrent.TimeUnit.SECONDS));
      for (int i = 0; i < 60; i++) {
        s.ack("m" + i); // posted behind the look
      }
      lookGoesOn.countDown();
      timer.join(10_000);
      assertEquals(List.of(), s.jetty().closes(), "owed acks are not abuse");
      assertTrue(s.sent().stream().noneMatch(f -> f.contains("rate_limited")), s.sent().toString());
      assertEquals(0, s.connection().output().unackedCount());
    }
  }

  /** A socket that closes before the ack hands the message back: whoever gave it routes it again. */
  @Test
  void aCloseBeforeTheAckSettlesNoSocket() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    CompletableFuture<SocketOutcome> settled = s.connection().deliver(node.message("m1"));
    s.closedBy(1001);
    assertEquals(SocketOutcome.NO_SOCKET, settled.join());
    assertEquals(SocketOutcome.NO_SOCKET, s.connection().deliver(node.message("m2")).join(),
        "a closed socket takes nothing");
  }

  /**
   * A reconnect storm reads the mailbox a few catch-ups at a time (as many as registrations, at most
   * {@link CallGate#MAX_IN_FLIGHT}): the others
   * are established at once and start their catch-up, in turn, as earlier ones answer; a socket closed
   * while it waited reads nothing.
   */
  @Test
  void onlyAFewCatchUpsReadTheMailboxAtOnce() throws Exception {
    List<CompletableFuture<MailboxLook>> reads = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<String> readers = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (SocketFixture f = SocketFixture.serving((user, id, caughtUp) -> {
      CompletableFuture<MailboxLook> read = new CompletableFuture<>();
      reads.add(read);
      readers.add(user);
      return read;
    })) {
      List<SocketFixture.Socket> sockets = new ArrayList<>();
      for (int i = 0; i < CallGate.MAX_IN_FLIGHT + 3; i++) {
        sockets.add(f.open("storm-" + i));
      }
      // as many as registrations may be in flight (which grew as these answered at once), at most 32
      int most = Math.min(CallGate.MAX_IN_FLIGHT, f.hub.registrationLimit());
      assertTrue(sockets.stream().allMatch(s -> s.sent().get(0).contains("connection_established")));
      assertEquals(most, reads.size(), "the rest wait for a place");
      sockets.get(most).closedBy(1000);
      reads.get(0).complete(SocketFixture.found(List.of(), new ArrayList<>()));
      assertEquals(most + 1, reads.size(), "the first answered: the next one still open reads");
      reads.get(1).complete(SocketFixture.found(List.of(), new ArrayList<>()));
      assertEquals(most + 2, reads.size(), "every socket that is open reads in turn");
      while (reads.stream().anyMatch(r -> !r.isDone())) { // each answer starts a waiting one's read
        reads.forEach(r -> r.complete(SocketFixture.found(List.of(), new ArrayList<>())));
      }
      assertEquals(CallGate.MAX_IN_FLIGHT + 2, reads.size(), "every socket still open read once");
      assertEquals(0, f.hub.catchUps().inFlight());
      assertTrue(!readers.contains("storm-" + most), "the socket closed while it waited read nothing: " + readers);
    }
  }

  /** A client that never acks: a mailbox message settles as delivered once the window has run out. */
  @Test
  void aMailboxMessageThatIsNeverAckedSettlesAtTheEndOfTheWindow() throws Exception {
    List<RelayMessage> parked = new ArrayList<>(List.of(node.message("m1")));
    List<CompletableFuture<SocketOutcome>> settled = new ArrayList<>();
    try (SocketFixture f = SocketFixture.serving((user, id, caughtUp) -> {
      MailboxLook look = SocketFixture.found(parked, settled);
      parked.clear();
      return CompletableFuture.completedFuture(look);
    })) {
      SocketFixture.Socket s = f.open("u1"); // the catch-up writes m1
      f.advanceInTicks(Duration.ofSeconds(2));
      parked.add(f.message("m2")); // for the late look, 5 s after the open
      f.advanceInTicks(Duration.ofSeconds(4));
      assertEquals(2, settled.size(), "m2 written at the late look");
      f.advanceInTicks(Duration.ofSeconds(5));
      CompletableFuture<SocketOutcome> old = settled.get(0);
      CompletableFuture<SocketOutcome> young = settled.get(1);
      assertEquals(SocketOutcome.DELIVERED, old.join());
      assertFalse(young.isDone(), "a mailbox entry holds no Pub/Sub stream: it waits for the ack");
      s.closedBy(1000);
      assertEquals(SocketOutcome.NO_SOCKET, young.join(), "written within the window before the close");
    }
  }

  /**
   * A routed message waits for the client's ack only up to the quorum bound: then the socket leaves its
   * user's ack quorum, its copy settles, and the next ones settle as soon as they are written, until the
   * client acks again. Pub/Sub's ordered delivery thus never waits on a socket that is behind.
   */
  @Test
  void aSocketBehindOnItsAcksLeavesTheQuorumUntilItAcksAgain() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    CompletableFuture<SocketOutcome> first = s.connection().deliver(node.message("m1"));
    node.advanceInTicks(SocketTimings.DEFAULT.ackQuorum().minus(SocketTimings.DEFAULT.tick()));
    assertFalse(first.isDone(), "waits for the ack within the bound");
    node.advanceInTicks(SocketTimings.DEFAULT.tick().multipliedBy(2));
    assertEquals(SocketOutcome.DELIVERED, first.getNow(null), "settled once the bound passed");
    CompletableFuture<SocketOutcome> second = s.connection().deliver(node.message("m2"));
    assertEquals(SocketOutcome.DELIVERED, second.getNow(null), "out of the quorum: settled when written");
    s.text(ack("m1"));
    CompletableFuture<SocketOutcome> third = s.connection().deliver(node.message("m3"));
    assertFalse(third.isDone(), "an ack brings the socket back into the quorum");
    s.text(ack("m3"));
    assertEquals(SocketOutcome.DELIVERED, third.join());
    assertTrue(s.sent().stream().noneMatch(f -> f.contains("rate_limited")), "late acks are owed acks");
  }

  /**
   * A copy settled because its socket left the quorum, and never acked, goes back by its hand-back when
   * the socket closes within the unacked window, as a copy still waiting goes back by settling no socket;
   * one written before the window does not.
   */
  @Test
  void aCopySettledEarlyAndNeverAckedGoesBackAtTheClose() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    List<String> handedBack = new ArrayList<>();
    s.connection().deliver(node.message("old"), () -> handedBack.add("old"));
    node.advanceInTicks(SocketTimings.DEFAULT.unackedWindow().plusSeconds(1));
    CompletableFuture<SocketOutcome> recent = s.connection().deliver(node.message("recent"),
        () -> handedBack.add("recent"));
    assertEquals(SocketOutcome.DELIVERED, recent.getNow(null), "settled when written: the socket is behind");
    assertEquals(List.of(), handedBack);
    s.closedBy(1006);
    assertEquals(List.of("recent"), handedBack, "only what was written within the window goes back");
  }

  /** Of two sockets of one user, the one that never acks does not hold the other's deliveries back. */
  @Test
  void aFrozenSocketDoesNotHoldBackItsUsersOtherSocket() throws Exception {
    SocketFixture.Socket frozen = node.live("u1");
    SocketFixture.Socket active = node.live("u1");
    CompletableFuture<SocketOutcome> settled = node.hub.deliver(node.message("m1"), () -> { });
    active.text(ack("m1"));
    assertEquals(List.of("m1"), frozen.messageIds());
    assertFalse(settled.isDone(), "the frozen socket still has its bound");
    node.advanceInTicks(SocketTimings.DEFAULT.ackQuorum().plus(SocketTimings.DEFAULT.tick()));
    assertEquals(SocketOutcome.DELIVERED, settled.getNow(null), "settled within the bound and a tick");
    CompletableFuture<SocketOutcome> next = node.hub.deliver(node.message("m2"), () -> { });
    active.text(ack("m2"));
    assertEquals(SocketOutcome.DELIVERED, next.getNow(null), "settled by the active socket's ack alone");
  }

  /**
   * Sockets opened together do not all leave together: each is closed with 1012 at an age drawn between
   * the oldest and the newest, after what it was handed is written, before Cloud Run's cut at 60 minutes.
   */
  @Test
  void aSocketIsClosedWith1012AtAnAgeDrawnBelowCloudRunsCut() throws Exception {
    // pings answered or not, these sockets are never dropped for silence within the test's hour
    try (SocketFixture quiet = new SocketFixture(SocketLimits.defaults().withPingInterval(Duration.ofHours(2)), null,
        null, 10)) {
      List<SocketFixture.Socket> sockets = new ArrayList<>();
      quiet.identity.serve();
      for (int i = 0; i < 8; i++) { // opened at one instant: every socket's age is the fixture's time since
        sockets.add(quiet.open("u" + i));
      }
      quiet.advance(SocketTimings.DEFAULT.oldestAge().minusSeconds(2));
      assertTrue(sockets.stream().allMatch(s -> s.jetty().closes().isEmpty()), "none before the oldest age");
      java.util.Map<SocketFixture.Socket, Integer> closedAtStep = new java.util.HashMap<>();
      for (int step = 0; step < 24; step++) { // 30 s steps, past the newest age
        quiet.advance(Duration.ofSeconds(30));
        for (SocketFixture.Socket s : sockets) {
          if (!s.jetty().closes().isEmpty()) {
            closedAtStep.putIfAbsent(s, step);
          }
        }
      }
      for (SocketFixture.Socket s : sockets) {
        assertEquals(List.of(1012), s.jetty().closes(), "each closed once, to reconnect");
      }
      assertTrue(closedAtStep.values().stream().distinct().count() > 1, "not all at the same age: " + closedAtStep);
    }
  }

  /** More unacked than the socket keeps: the oldest is pushed out and counts as delivered. */
  @Test
  void theOldestUnackedIsSettledWhenTheWindowIsFull() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    CompletableFuture<SocketOutcome> first = s.connection().deliver(node.message("m0"));
    for (int i = 1; i <= WriteLedger.UNACKED_LIMIT; i++) {
      s.connection().deliver(node.message("m" + i));
    }
    assertEquals(SocketOutcome.DELIVERED, first.join());
    assertEquals(WriteLedger.UNACKED_LIMIT, s.connection().output().unackedCount());
  }

  /**
   * A client that never acks holds a bounded weight of the node's memory: large messages push the
   * oldest unacked ones out (settled as delivered, their acks still owed) long before 256 of them.
   */
  @Test
  void unackedMessagesAreBoundedByWeightToo() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    String data = "\"" + "x".repeat(150 * 1024) + "\"";
    List<CompletableFuture<SocketOutcome>> settled = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      settled.add(s.connection().deliver(new RelayMessage("big" + i, "u1", "e", data, node.clock.instant(), 3600,
          Priority.NORMAL)));
    }
    assertTrue(s.connection().output().unackedCount() <= WriteLedger.UNACKED_BYTES / (150 * 1024),
        "held: " + s.connection().output().unackedCount());
    assertEquals(SocketOutcome.DELIVERED, settled.get(0).getNow(null), "the oldest pushed out");
    assertFalse(settled.get(19).isDone(), "the newest still waits for its ack");
  }

  /** A frame the socket could not take is not settled as delivered. */
  @Test
  void aFailedWriteSettlesNoSocket() throws Exception {
    try (SocketFixture small = new SocketFixture(SocketLimits.defaults().withOutbound(1, 1 << 20), null, null, 10)) {
      SocketFixture.Socket s = small.live("u1");
      s.jetty().holdWrites();
      s.connection().deliver(small.message("m1"));
      assertEquals(SocketOutcome.NO_SOCKET, s.connection().deliver(small.message("m2")).join());
      assertEquals(0, s.connection().output().unackedCount());
    }
  }

  /** Held back during the catch-up, written in order after it, one id at most once. */
  @Test
  void deliveriesDuringTheCatchUpFollowTheMailboxAndRepeatsAreDropped() throws Exception {
    CompletableFuture<Void> mailboxAnswers = new CompletableFuture<>();
    List<CompletableFuture<SocketOutcome>> parked = new ArrayList<>();
    try (SocketFixture slow = new SocketFixture(SocketLimits.defaults(), null, (user, id, caughtUp) -> mailboxAnswers
        .thenApply(v -> SocketFixture.found(List.of(acceptedAt("parked", 1)), parked)), 10)) {
      slow.identity.serve();
      SocketFixture.Socket s = slow.open("u1");
      assertEquals(Connection.State.CATCHING_UP, s.connection().state());
      CompletableFuture<SocketOutcome> live = s.connection().deliver(acceptedAt("live", 2));
      assertEquals(List.of(), s.messageIds(), "held while catching up");
      mailboxAnswers.complete(null);
      assertEquals(List.of("parked"), s.messageIds());
      slow.advance(java.time.Duration.ofSeconds(1));
      assertEquals(List.of("parked", "live"), s.messageIds());
      CompletableFuture<SocketOutcome> repeat = s.connection().deliver(acceptedAt("parked", 1));
      assertEquals(List.of("parked", "live"), s.messageIds(), "a repeat is not written");
      s.text(ack("live"));
      assertEquals(SocketOutcome.DELIVERED, live.join());
      assertFalse(repeat.isDone(), "a repeat settles as its first copy does, once that one is acked");
      s.text(ack("parked"));
      assertEquals(SocketOutcome.DELIVERED, parked.get(0).join());
      assertEquals(SocketOutcome.DUPLICATE_SUPPRESSED, repeat.join());
      assertEquals(SocketOutcome.DUPLICATE_SUPPRESSED, s.connection().deliver(acceptedAt("parked", 1)).join(),
          "a repeat of an acked message is settled at once");
    }
  }

  /** A repeat handed over while its first copy waits for the ack goes back with it when the socket closes. */
  @Test
  void aRepeatOfAnUnackedMessageGoesBackWithItsFirstCopy() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    CompletableFuture<SocketOutcome> first = s.connection().deliver(acceptedAt("m1", 1));
    CompletableFuture<SocketOutcome> repeat = s.connection().deliver(acceptedAt("m1", 1));
    assertEquals(List.of("m1"), s.messageIds());
    assertFalse(repeat.isDone(), "waits for the first copy");
    s.closedBy(1006);
    assertEquals(SocketOutcome.NO_SOCKET, first.join());
    assertEquals(SocketOutcome.NO_SOCKET, repeat.join(), "routed again, as its first copy is");
  }

  /**
   * Across a reconnect: a message parked while the catch-up read (found by the second look) and one
   * routed live after parking (the route function's look after parking, or a retry) are both older
   * than the live messages that came meanwhile, and are written ahead of them, in accept order.
   */
  @Test
  void whileSettlingParkedAndLateRoutedMessagesGoAheadOfNewerLiveOnes() throws Exception {
    List<RelayMessage> mailbox = new ArrayList<>(List.of(acceptedAt("p1", 1), acceptedAt("p2", 2)));
    List<CompletableFuture<SocketOutcome>> late = new ArrayList<>();
    try (SocketFixture parking = new SocketFixture(SocketLimits.defaults(), null, (user, id, caughtUp) -> {
      MailboxLook look = SocketFixture.found(mailbox, late);
      mailbox.clear();
      return CompletableFuture.completedFuture(look);
    }, 10)) {
      parking.identity.serve();
      SocketFixture.Socket s = parking.open("u1");
      Connection c = s.connection();
      c.deliver(acceptedAt("live5", 5));
      c.deliver(acceptedAt("retried3", 3)); // routed live after parking, behind a newer live one
      mailbox.add(acceptedAt("p4", 4)); // parked while the catch-up read: the second look finds it
      c.deliver(acceptedAt("live6", 6));
      assertEquals(List.of("p1", "p2"), s.messageIds(), "held while settling");
      parking.advance(Duration.ofSeconds(1));
      assertEquals(List.of("p1", "p2", "retried3", "p4", "live5", "live6"), s.messageIds());
      s.ack("p4");
      assertEquals(SocketOutcome.DELIVERED, late.get(2).join(), "p4, found by the second look, written and acked");
      c.deliver(acceptedAt("live8", 8));
      c.deliver(acceptedAt("live7", 7));
      assertEquals(List.of("live8", "live7"), s.messageIds().subList(6, 8), "live: in arrival order");
    }
  }

  /** What was held while settling goes out high priority first, then the rest; each in accept order. */
  @Test
  void whileSettlingHighPriorityMessagesAreHeldAheadOfNormalOnes() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    s.connection().deliver(acceptedAt("n1", 1));
    s.connection().deliver(acceptedAt("h2", 2, Priority.HIGH));
    s.connection().deliver(acceptedAt("n3", 3));
    node.advance(Duration.ofSeconds(1));
    assertEquals(List.of("h2", "n1", "n3"), s.messageIds());
  }

  /**
   * A socket that closes while settling hands every held message back; what its second look finds after
   * the close goes back too (its entry is released), and nothing is written.
   */
  @Test
  void aCloseWhileSettlingSettlesHeldMessagesNoSocket() throws Exception {
    CompletableFuture<Void> secondLook = new CompletableFuture<>();
    List<CompletableFuture<SocketOutcome>> parked = new ArrayList<>();
    try (SocketFixture f = SocketFixture.serving((user, id, caughtUp) -> caughtUp
        ? secondLook.thenApply(v -> SocketFixture.found(List.of(acceptedAt("parked", 1)), parked))
        : CompletableFuture.completedFuture(SocketFixture.nothing()))) {
      SocketFixture.Socket s = f.open("u1");
      CompletableFuture<SocketOutcome> routed = s.connection().deliver(acceptedAt("live", 2));
      f.advance(SocketTimings.DEFAULT.secondLook()); // the second look starts, and is answered after the close
      s.closedBy(1001);
      assertEquals(SocketOutcome.NO_SOCKET, routed.join());
      secondLook.complete(null);
      assertEquals(SocketOutcome.NO_SOCKET, parked.get(0).join());
      assertEquals(List.of(), s.messageIds());
    }
  }

  /**
   * Past the node's memory budget, the socket whose queue holds the most is closed with 1013 at the next
   * tick, as a slow one; a socket that holds less stays, and new sockets are refused while the node is over.
   */
  @Test
  void pastTheMemoryBudgetTheSocketThatHoldsTheMostIsShed() throws Exception {
    try (SocketFixture tight = new SocketFixture(SocketLimits.defaults().withMemoryBudget(100_000), null, null, 10)) {
      SocketFixture.Socket big = tight.live("big");
      SocketFixture.Socket small = tight.live("small");
      big.jetty().holdWrites();
      small.jetty().holdWrites();
      String data = "\"" + "d".repeat(10_000) + "\"";
      for (int i = 0; i < 40; i++) { // the first 16 fill the window Jetty is handed, the rest wait in the queue
        tight.hub.deliver(new RelayMessage("b" + i, "big", "e", data, tight.clock.instant(), 3600, Priority.NORMAL),
            () -> { });
      }
      tight.hub.deliver(new RelayMessage("s1", "small", "e", data, tight.clock.instant(), 3600, Priority.NORMAL),
          () -> { });
      assertTrue(tight.hub.memory().over(), tight.hub.memory().used() + " bytes held");
      assertEquals(ConnectionHub.Refusal.OUT_OF_MEMORY,
          assertThrows(ConnectionHub.CapacityException.class, () -> tight.handshake("late")).refusal());

      tight.advance(SocketTimings.DEFAULT.tick());
      assertEquals(List.of(1013), big.jetty().closes());
      assertEquals(List.of(), small.jetty().closes(), "the smaller one stays");
      tight.advance(SocketTimings.DEFAULT.tick());
      assertTrue(tight.hub.memory().over(), "the shed socket reads nothing: its queue is still held");
      assertEquals(List.of(), small.jetty().closes(), "nobody else is shed before the shed one is disconnected");
    }
  }
}
