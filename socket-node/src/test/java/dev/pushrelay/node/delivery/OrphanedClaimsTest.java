package dev.pushrelay.node.delivery;

import static dev.pushrelay.node.ws.SocketFixture.acceptedAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.ws.Connection;
import dev.pushrelay.node.ws.MailboxLook;
import dev.pushrelay.node.ws.NodeSockets;
import dev.pushrelay.node.ws.SocketFixture;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A mailbox entry claimed for a socket that never had it is not left to the route function's retries:
 * the socket's own next look hands over what a late look claimed, and a live socket looks again when a
 * dead socket's claim runs out. Real catch-up, in-memory mailbox, no network.
 */
class OrphanedClaimsTest {
  /** The default timings with a registry deadline a test can wait out. */
  private static final SocketTimings QUICK_DEADLINE = new SocketTimings(SocketTimings.DEFAULT.tick(),
      Duration.ofMillis(50), SocketTimings.DEFAULT.catchUpRetries(), SocketTimings.DEFAULT.secondLook(),
      SocketTimings.DEFAULT.lateLook(), SocketTimings.DEFAULT.unackedWindow(), SocketTimings.DEFAULT.removalRetries(),
      SocketTimings.DEFAULT.repairEvery(), SocketTimings.DEFAULT.slowConsumerGrace(),
      SocketTimings.DEFAULT.ackQuorum(), SocketTimings.DEFAULT.oldestAge(), SocketTimings.DEFAULT.newestAge());

  private final InMemoryMailbox entries = new InMemoryMailbox();
  /** The first claim of the test lands at once, and its answer comes only when the test says. */
  private final CompletableFuture<Void> firstAnswer = new CompletableFuture<>();
  private final AtomicReference<NodeSockets.CatchUp> catchUp = new AtomicReference<>();
  /** The look the catch-up answered last, as the socket holds it. */
  private final AtomicReference<CompletableFuture<?>> lastLook = new AtomicReference<>();
  private final SocketFixture node = new SocketFixture(SocketLimits.defaults(), null, (user, id, caughtUp) -> {
    CompletableFuture<MailboxLook> look = catchUp.get().look(user, id, caughtUp);
    lastLook.set(look);
    return look;
  }, 10, QUICK_DEADLINE);

  {
    Mailbox slowFirstAnswer = new ForwardingMailbox(entries) {
      private boolean first = true;

      @Override
      public synchronized CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now) {
        CompletableFuture<Claimed> landed = super.claim(userId, connectionId, now);
        if (first) {
          first = false;
          return firstAnswer.thenCompose(v -> landed);
        }
        return landed;
      }
    };
    catchUp.set(new MailboxCatchUp(slowFirstAnswer, node.clock, RelayMetrics.noop(Part.SOCKET_NODE),
        MessageTracing.noop(), new RelayPublisher(new RecordingPublisher(), Topology.standard())));
    node.identity.serve();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private void park(RelayMessage m) throws Exception {
    assertEquals(ParkOutcome.PARKED, entries.park(m, 1, false, 10, node.clock.instant()).get());
  }

  /**
   * The catch-up's claims land, but its answer comes after the registry deadline: the socket hands
   * nothing over then, and its retry hands over the entries it claimed as its own, still ahead of a
   * live message that came meanwhile. The late answer then writes nothing twice.
   */
  @Test
  void aCatchUpAnsweredAfterItsDeadlineLeavesItsClaimsToTheSocketsNextLook() throws Exception {
    park(acceptedAt("p1", 1));
    park(acceptedAt("p2", 2));
    SocketFixture.Socket s = node.open("u1");
    CompletableFuture<?> live = s.connection().deliver(acceptedAt("live", 3), () -> { });
    assertTrue(entries.entries().values().stream().allMatch(e -> e.state().equals("claimed")),
        "the first look's claims landed: " + entries.entries());
    assertEquals(1, node.catchUps.get());
    // the registry deadline passes in real time, the retry's pause in the test's time:
    // until the deadline's event has run on its own thread and the retry's pause is over: a millisecond
    // of the test's time for each of real time, so the socket's other deadlines stay far off
    long[] last = {System.nanoTime()};
    Await.until("the catch-up tried again after its deadline", Duration.ofSeconds(10), () -> {
      long now = System.nanoTime();
      node.advance(Duration.ofNanos(now - last[0]));
      last[0] = now;
      return node.catchUps.get() >= 2;
    });
    assertEquals(2, node.catchUps.get(), "the catch-up was tried again once");
    assertEquals(List.of("p1", "p2"), s.messageIds(), "the retry handed over what the first look claimed");
    node.advance(SocketTimings.DEFAULT.secondLook());
    assertEquals(Connection.State.LIVE, s.connection().state());
    int looks = node.catchUps.get();
    firstAnswer.complete(null);
    node.advance(SocketTimings.DEFAULT.tick());
    assertEquals(looks + 1, node.catchUps.get(), "the late answer's claims ask for one more look");
    assertEquals(List.of("p1", "p2", "live"), s.messageIds(), "in accept order, each once");
    s.ack("p1");
    s.ack("p2");
    s.ack("live");
    assertTrue(entries.entries().values().stream().allMatch(e -> e.state().equals("delivered")),
        "settled: " + entries.entries());
    assertTrue(live.isDone());
  }

  /**
   * The catch-up's claim lands, its socket gives up on the answer and closes, and the answer comes: the
   * claim goes back unwritten, pending again and not counted toward {@link Mailbox#MAX_CLAIMS}, since no
   * client had the message (a slow mailbox under a churning user dead-lettered such messages as
   * {@code handed_back} while the user was connected). A claim whose message was written and left
   * unacked counts.
   */
  @Test
  void aClaimAnsweredAfterItsSocketClosedGoesBackUncounted() throws Exception {
    park(acceptedAt("p1", 1));
    SocketFixture.Socket s = node.open("u1");
    assertEquals(1, entries.claims("u1", "p1"), "the catch-up's claim landed");
    CompletableFuture<?> look = lastLook.get();
    // the socket stopped waiting for the look (its registry deadline, in real time) and waits for its late
    // answer: the look has that waiter besides the socket's own copy
    Await.until("the socket gave up on its look", Duration.ofSeconds(10), () -> look.getNumberOfDependents() >= 2);
    s.closedBy(1001);
    firstAnswer.complete(null);
    Await.until("the late claim handed back", Duration.ofSeconds(10),
        () -> "pending".equals(entries.entries().values().iterator().next().state()));
    assertEquals(0, entries.claims("u1", "p1"), "a claim that handed the client nothing does not count");
    SocketFixture.Socket next = node.live("u1");
    assertEquals(List.of("p1"), next.messageIds());
    next.closedBy(1001);
    assertEquals("pending", entries.entries().values().iterator().next().state());
    assertEquals(1, entries.claims("u1", "p1"), "written and never acked: that claim counts");
  }

  /**
   * A socket of the user claimed an entry and died without settling it (its node crashed): a live
   * socket that came more than the shared window later skips the claim, then looks again when it runs
   * out and takes the message.
   */
  @Test
  void aLiveSocketTakesWhatADeadSocketsClaimHeldOnceTheClaimRunsOut() throws Exception {
    firstAnswer.complete(null);
    park(acceptedAt("m1", 1));
    Instant claimedAt = node.clock.instant();
    assertEquals(1, entries.claim("u1", "dead-socket", claimedAt).get().messages().size());
    node.advance(Mailbox.SHARED_WINDOW.plusSeconds(1));
    SocketFixture.Socket s = node.live("u1");
    node.advanceInTicks(SocketTimings.DEFAULT.lateLook());
    assertEquals(List.of(), s.messageIds(), "the dead socket's claim still holds");
    Duration untilRunsOut = Duration.between(node.clock.instant(), claimedAt.plus(Mailbox.CLAIM_TIMEOUT));
    node.advanceInTicks(untilRunsOut.plusSeconds(2));
    assertEquals(List.of("m1"), s.messageIds(), "taken once the claim ran out");
    s.ack("m1");
    assertEquals("delivered", entries.entries().values().iterator().next().state());
  }

  /** A mailbox that does what {@code to} does; a test overrides the calls it changes. */
  private static class ForwardingMailbox implements Mailbox {
    private final Mailbox to;

    ForwardingMailbox(Mailbox to) {
      this.to = to;
    }

    @Override
    public CompletableFuture<ParkOutcome> park(RelayMessage m, int attempt, boolean exact, int max, Instant now) {
      return to.park(m, attempt, exact, max, now);
    }

    @Override
    public CompletableFuture<Void> discard(String userId, String messageId) {
      return to.discard(userId, messageId);
    }

    @Override
    public CompletableFuture<dev.pushrelay.mailbox.IdUse> recordId(String userId, String id, String fingerprint,
        Instant expiresAt) {
      return to.recordId(userId, id, fingerprint, expiresAt);
    }

    @Override
    public CompletableFuture<Void> routedLive(String userId, String messageId, Instant now) {
      return to.routedLive(userId, messageId, now);
    }

    @Override
    public CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now) {
      return to.claim(userId, connectionId, now);
    }

    @Override
    public CompletableFuture<Void> delivered(String userId, List<String> messageIds, Instant now) {
      return to.delivered(userId, messageIds, now);
    }

    @Override
    public CompletableFuture<Void> release(String userId, String connectionId, List<String> messageIds,
        boolean written) {
      return to.release(userId, connectionId, messageIds, written);
    }

    @Override
    public CompletableFuture<Void> deadLettered(String userId, String messageId, Instant now) {
      return to.deadLettered(userId, messageId, now);
    }
  }
}
