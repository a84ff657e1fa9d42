package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.RecordingSession;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A socket's states, from the handshake to the removal of its registry entry, with a fake clock, an
 * in-memory registry and a recording session: no network, no real time.
 */
class ConnectionTest {
  private final SocketFixture node = new SocketFixture();
  private static final SocketTimings T = SocketTimings.DEFAULT;

  @AfterEach
  void stop() {
    node.close();
  }

  /** A view of a registry whose answers to {@code method} wait for {@code gate}. */
  private static UnaryOperator<RegistryStore> gated(String method, CompletableFuture<Void> gate) {
    return registry -> (RegistryStore) Proxy.newProxyInstance(ConnectionTest.class.getClassLoader(),
        new Class<?>[] {RegistryStore.class},
        (proxy, m, args) -> m.getName().equals(method)
            ? gate.thenCompose(v -> {
              try {
                return (CompletableFuture<?>) m.invoke(registry, args);
              } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
              }
            })
            : m.invoke(registry, args));
  }

  /**
   * A crowd that connects at once all opens (no refusal, whatever the node is doing), and registers as many
   * at a time as the node's registration limit allows; each answer lets the next one go.
   */
  @Test
  void aCrowdOpensAtOnceAndRegistersInTurns() throws Exception {
    CompletableFuture<Void> answers = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
    UnaryOperator<RegistryStore> counted = registry -> {
      RegistryStore held = gated("addConnection", answers).apply(registry);
      return (RegistryStore) Proxy.newProxyInstance(ConnectionTest.class.getClassLoader(),
          new Class<?>[] {RegistryStore.class}, (proxy, m, args) -> {
            if (m.getName().equals("addConnection")) {
              sent.incrementAndGet();
            }
            return m.invoke(held, args);
          });
    };
    try (SocketFixture crowd = new SocketFixture(SocketLimits.defaults(), counted, null, 1000)) {
      crowd.identity.serve();
      int limit = crowd.hub.registrationLimit();
      List<SocketFixture.Socket> sockets = new java.util.ArrayList<>();
      for (int i = 0; i < 100; i++) {
        sockets.add(crowd.open("crowd-" + i));
      }
      assertEquals(limit, sent.get(), "as many registrations in flight as the limit, the rest wait their turn");
      assertEquals(100, crowd.hub.reserved(), "every socket of the crowd opened");
      answers.complete(null);
      dev.pushrelay.testing.Await.until("the crowd registered", Duration.ofSeconds(10),
          () -> crowd.registry.connections().size() == 100);
      assertEquals(100, sent.get(), "each registered once");
      for (SocketFixture.Socket s : sockets) {
        assertTrue(s.sent().get(0).contains("connection_established"), s.sent().toString());
      }
      assertTrue(crowd.hub.registrationLimit() > limit, "registrations that answered at once raised the limit: "
          + crowd.hub.registrationLimit());
    }
  }

  /** A socket that closes while it waits for its turn to register is never registered, and counts as over capacity. */
  @Test
  void aSocketClosedBeforeItsTurnToRegisterCountsAsOverCapacity() throws Exception {
    CompletableFuture<Void> answers = new CompletableFuture<>();
    try (SocketFixture crowd = new SocketFixture(SocketLimits.defaults(), gated("addConnection", answers), null,
        1000)) {
      crowd.identity.serve();
      int limit = crowd.hub.registrationLimit();
      List<SocketFixture.Socket> sockets = new java.util.ArrayList<>();
      for (int i = 0; i <= limit; i++) {
        sockets.add(crowd.open("turn-" + i));
      }
      SocketFixture.Socket waiting = sockets.get(limit);
      waiting.closedBy(1001);
      assertEquals(1, overCapacity(crowd), "the socket that left before its turn");
      answers.complete(null);
      dev.pushrelay.testing.Await.until("the others registered", Duration.ofSeconds(10),
          () -> crowd.registry.connections().size() == limit);
      assertFalse(crowd.registry.connections().containsKey(waiting.connection().connectionId()),
          "the socket that left before its turn was never registered");
      assertEquals(1, overCapacity(crowd), "the sockets that registered are not counted over capacity");
      assertEquals(limit, crowd.metrics.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "accepted"));
    }
  }

  private static long overCapacity(SocketFixture f) {
    return f.metrics.value(RelayMetrics.CONNECTION_ATTEMPTS, "outcome", "over_capacity");
  }

  @Test
  void aSocketIsRegisteredEstablishedCaughtUpThenSettlesAndGoesLive() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    String id = s.connection().connectionId();
    assertEquals(Set.of(id), node.registry.connections().keySet());
    assertEquals("n1", node.registry.connections().get(id).nodeId());
    assertTrue(s.sent().get(0).contains("connection_established"), s.sent().toString());
    assertEquals(1, node.catchUps.get());
    assertEquals(1, node.hub.size(), "listed for its user");
    assertEquals(Connection.State.SETTLING, s.connection().state());
    node.advance(T.secondLook().minusMillis(100));
    assertEquals(Connection.State.SETTLING, s.connection().state(), "the settling window is not over");
    node.advance(Duration.ofMillis(100));
    assertEquals(Connection.State.LIVE, s.connection().state());
    assertEquals(2, node.catchUps.get(), "the second look");
    node.advance(T.lateLook().minus(T.secondLook()));
    assertEquals(3, node.catchUps.get(), "the late look");
    node.advance(Duration.ofMinutes(1));
    assertEquals(3, node.catchUps.get(), "no more looks");
  }

  /**
   * A user who holds as many sockets across the fleet as it may (here on another node) gets its next one
   * registered, counted and closed with 1013 (back off), unannounced; its entry goes, the others stay, and
   * once one of them is gone the next socket is let in.
   */
  @Test
  void aSocketPastTheUsersFleetLimitIsClosedWith1013AndLeavesNoEntry() throws Exception {
    node.identity.serve();
    int most = SocketLimits.defaults().maxConnectionsPerUserFleet();
    for (int i = 0; i < most; i++) {
      node.registry.addConnection(new ConnectionRecord("other-" + i, "u1", "n2", node.clock.instant())).get();
    }
    SocketFixture.Socket only = node.open("u1");
    assertTrue(only.sent().get(0).contains("connection_established"), "the user's only socket here is not counted");
    SocketFixture.Socket s = node.open("u1");
    assertEquals(List.of(1013), s.jetty().closes());
    assertTrue(s.sent().stream().noneMatch(f -> f.contains("connection_established")), s.sent().toString());
    s.closedBy(1013);
    assertEquals(most + 1, node.registry.connections().size(), "its own entry went, the others stay");
    assertEquals(1, node.catchUps.get());
    assertEquals(List.of("connected"), node.pubsub.types(), "the refused one never announced");

    node.registry.removeConnections(List.of("other-0", "other-1")).get();
    SocketFixture.Socket next = node.open("u1");
    assertTrue(next.sent().get(0).contains("connection_established"), next.sent().toString());
  }

  /** Registered under an incarnation that lost its lease meanwhile: closed with 1012 so the client registers again. */
  @Test
  void aSocketRegisteredUnderAFencedIncarnationIsClosedWith1012AndHasNoEvents() throws Exception {
    SocketFixture.Socket s = node.open("u1"); // not serving: fenced while the registry write was in flight
    assertEquals(List.of(1012), s.jetty().closes());
    assertEquals(0, node.catchUps.get());
    s.closedBy(1012);
    assertEquals(List.of(), node.pubsub.types(), "never announced, so no disconnected event either");
    assertTrue(node.registry.connections().isEmpty());
    assertEquals(Connection.State.CLOSED, s.connection().state());
  }

  @Test
  void aClosedSocketGivesItsRoomBackAndLeavesTheHubAndTheRegistry() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    s.closedBy(1000);
    assertTrue(node.registry.connections().isEmpty());
    assertEquals(0, node.hub.size());
    assertEquals(0, node.hub.reserved());
    assertFalse(node.hub.holds(s.connection().connectionId()));
    assertEquals(Connection.State.CLOSED, s.connection().state());
    assertEquals(0, node.sockets.openSockets());
  }

  /**
   * The backend hears connected once the socket is established and disconnected at its close, with the
   * close code; the registry entry stays until the disconnected event is published, so that a node that
   * died first would leave it for the cleanup's node_lost report, and the stale-entry repair keeps it.
   */
  @Test
  void aSocketsEventsFrameItsLifeAndItsEntryOutlivesItsDisconnectedEvent() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    String id = s.connection().connectionId();
    assertEquals(List.of("connected"), node.pubsub.types());
    node.pubsub.hold();
    node.clock.advance(Duration.ofSeconds(3));
    s.closedBy(1001);
    assertEquals(List.of("connected", "disconnected"), node.pubsub.types());
    assertEquals(0, node.hub.size(), "no delivery goes to a closed socket");
    assertEquals(Connection.State.CLOSING, s.connection().state());
    node.sockets.noSocketFor("u1");
    assertEquals(Set.of(id), node.registry.connections().keySet(), "kept until its disconnected event is out");
    node.pubsub.release();
    assertTrue(node.registry.connections().isEmpty());
    var data = JsonCodec.read(node.pubsub.published().get(1).data());
    assertEquals(1001, data.get("closeCode").asInt());
    assertEquals(3000, data.get("livedMs").asLong());
    assertEquals("closed", data.get("reason").asText());
    assertEquals(id, node.pubsub.published().get(1).orderingKey());
    assertEquals(Connection.State.CLOSED, s.connection().state());
  }

  /**
   * A disconnected event that never got out (the node stopped, or gave up) leaves the registry entry, so
   * that the cleanup of this node reports the socket as node_lost rather than nobody at all.
   */
  @Test
  void anEntryWhoseDisconnectedEventFailedStaysForTheCleanup() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    node.pubsub.hold();
    node.timers.shutdownNow(); // the node is stopping: the event's retry cannot be scheduled
    s.closedBy(1012);
    node.pubsub.fail(new RuntimeException("publisher closed"));
    assertEquals(Set.of(s.connection().connectionId()), node.registry.connections().keySet());
    assertEquals(Connection.State.CLOSED, s.connection().state(), "the node forgets it; the cleanup does the rest");
  }

  /** A delivery found no socket of the user: entries under this node for sockets it no longer has go. */
  @Test
  void staleEntriesOfAUserOnThisNodeAreRemovedAndOpenOnesKept() throws Exception {
    node.identity.serve();
    String open = node.open("u1").connection().connectionId();
    node.registry.addConnection(new ConnectionRecord("c-stale", "u1", "n1", node.clock.instant()));
    node.registry.addConnection(new ConnectionRecord("c-elsewhere", "u1", "n2", node.clock.instant()));
    node.registry.addConnection(new ConnectionRecord("c-other-user", "u2", "n1", node.clock.instant()));
    node.sockets.noSocketFor("u1");
    assertEquals(Set.of(open, "c-elsewhere", "c-other-user"), node.registry.connections().keySet());
  }

  /**
   * The repair's query may answer after a new socket of the user registered here (a Firestore slow to
   * answer): that socket is not taken for stale. The chaos suite lost messages to this once: the new
   * socket's entry went, and routes found the user nowhere for the rest of its stay.
   */
  @Test
  void aSocketThatRegistersWhileTheRepairQueryRunsIsKept() throws Exception {
    CompletableFuture<Void> queryAnswers = new CompletableFuture<>();
    try (SocketFixture repairing = new SocketFixture(SocketLimits.defaults(),
        gated("removeStaleConnections", queryAnswers), null, 10)) {
      repairing.identity.serve();
      repairing.sockets.noSocketFor("u1"); // a delivery found no socket of u1: its query is on its way
      String id = repairing.open("u1").connection().connectionId();
      assertEquals(Set.of(id), repairing.registry.connections().keySet());
      queryAnswers.complete(null);
      assertEquals(Set.of(id), repairing.registry.connections().keySet(), "the new socket's entry stays");
    }
  }

  /** A socket that closes while its registry write is in flight: the entry goes once the write is in. */
  @Test
  void aSocketClosedWhileRegisteringIsRemovedOnceTheWriteLands() throws Exception {
    CompletableFuture<Void> writeLands = new CompletableFuture<>();
    try (SocketFixture registering = new SocketFixture(SocketLimits.defaults(), gated("addConnection", writeLands), null,
        10)) {
      registering.identity.serve();
      SocketFixture.Socket s = registering.open("u1");
      assertEquals(Connection.State.REGISTERING, s.connection().state());
      s.closedBy(1001);
      assertEquals(0, registering.hub.reserved(), "the room goes back at the close");
      assertTrue(registering.hub.holds(s.connection().connectionId()), "still the node's until the write is in");
      writeLands.complete(null);
      assertTrue(registering.registry.connections().isEmpty());
      assertEquals(Connection.State.CLOSED, s.connection().state());
      assertEquals(0, registering.catchUps.get(), "never caught up");
      assertEquals(List.of(), registering.pubsub.types());
    }
  }

  /** A write that timed out may still have landed: the closed socket's entry is deleted all the same. */
  @Test
  void anEntryWhoseWriteFailedLateIsStillRemovedAtTheClose() throws Exception {
    UnaryOperator<RegistryStore> landsThenFails = registry -> (RegistryStore) Proxy.newProxyInstance(
        ConnectionTest.class.getClassLoader(), new Class<?>[] {RegistryStore.class},
        (proxy, m, args) -> {
          Object answer = m.invoke(registry, args);
          return m.getName().equals("addConnection")
              ? CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("no answer in 5 s"))
              : answer;
        });
    try (SocketFixture late = new SocketFixture(SocketLimits.defaults(), landsThenFails, null, 10)) {
      late.identity.serve();
      SocketFixture.Socket s = late.open("u1");
      assertEquals(List.of(1011), s.jetty().closes());
      assertEquals(1, late.registry.connections().size(), "the write landed");
      s.closedBy(1011);
      assertTrue(late.registry.connections().isEmpty());
      assertEquals(Connection.State.CLOSED, s.connection().state());
    }
  }

  /** A token valid for centuries (an exp written in milliseconds) is a socket with no expiry, not a stuck one. */
  @Test
  void aTokenValidForCenturiesGivesASocketWithNoExpiry() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1", java.time.Instant.parse("+50000-01-01T00:00:00Z"));
    assertEquals(Connection.State.SETTLING, s.connection().state());
    node.advance(Duration.ofDays(1));
    assertEquals(List.of(1012), s.jetty().closes(), "closed at its age limit, never for its token");
  }

  @Test
  void aRegistryThatDoesNotTakeTheSocketClosesItWith1011() throws Exception {
    CompletableFuture<Void> refused = CompletableFuture.failedFuture(new IllegalStateException("firestore down"));
    try (SocketFixture down = new SocketFixture(SocketLimits.defaults(), gated("addConnection", refused), null, 10)) {
      down.identity.serve();
      SocketFixture.Socket s = down.open("u1");
      assertEquals(List.of(1011), s.jetty().closes());
      s.closedBy(1011);
      assertEquals(Connection.State.CLOSED, s.connection().state());
      assertEquals(0, down.hub.reserved());
    }
  }

  /** A catch-up that fails is tried again after each pause; once all fail, 1011 so the client reconnects. */
  @Test
  void aFailingCatchUpIsRetriedThenClosesWith1011() throws Exception {
    try (SocketFixture failing = new SocketFixture(SocketLimits.defaults(), null,
        (user, id, caughtUp) -> CompletableFuture.failedFuture(new IllegalStateException("mailbox down")), 10)) {
      failing.identity.serve();
      SocketFixture.Socket s = failing.open("u1");
      assertEquals(1, failing.catchUps.get());
      for (int i = 0; i < T.catchUpRetries().size(); i++) {
        failing.advance(T.catchUpRetries().get(i).minusMillis(1));
        assertEquals(i + 1, failing.catchUps.get(), "not before the pause is over");
        failing.advance(Duration.ofMillis(1));
        assertEquals(i + 2, failing.catchUps.get());
      }
      assertEquals(List.of(1011), s.jetty().closes());
      assertEquals(Connection.State.CATCHING_UP, s.connection().state());
    }
  }

  /**
   * A live socket's late look that fails is tried again after each of the catch-up's pauses, then left;
   * one that succeeds starts the count again.
   */
  @Test
  void aFailingLaterLookIsTriedAgainAfterEachPauseThenLeft() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean();
    try (SocketFixture flaky = new SocketFixture(SocketLimits.defaults(), null,
        (user, id, caughtUp) -> down.get() ? CompletableFuture.failedFuture(new IllegalStateException("mailbox down"))
            : CompletableFuture.completedFuture(SocketFixture.nothing()), 10)) {
      SocketFixture.Socket s = flaky.live("u1");
      down.set(true);
      flaky.advance(T.lateLook().minus(T.secondLook()));
      assertEquals(3, flaky.catchUps.get(), "the late look, failed");
      for (int i = 0; i < T.catchUpRetries().size(); i++) {
        flaky.advance(T.catchUpRetries().get(i).minusMillis(1));
        assertEquals(3 + i, flaky.catchUps.get(), "not before the pause is over");
        flaky.advance(Duration.ofMillis(1));
        assertEquals(4 + i, flaky.catchUps.get());
      }
      flaky.advance(Duration.ofMinutes(1));
      assertEquals(3 + T.catchUpRetries().size(), flaky.catchUps.get(), "left after the last pause");
      assertEquals(Connection.State.LIVE, s.connection().state(), "a live socket stays open");
      assertEquals(List.of(), s.jetty().closes());
    }
  }

  /** An upgrade that never completes gives its room back at the open deadline; opening later is refused. */
  @Test
  void aSocketThatNeverOpensGivesItsRoomBack() throws Exception {
    JettySocket c = node.handshake("u1");
    assertEquals(1, node.hub.reserved());
    node.advance(SocketLimits.defaults().openDeadline());
    assertEquals(0, node.hub.reserved());
    assertEquals(Connection.State.CLOSED, c.connection().state());
    assertFalse(node.hub.holds(c.connection().connectionId()));
    RecordingSession late = new RecordingSession();
    c.onWebSocketOpen(late.session());
    assertEquals(List.of(1013), late.closes());
    c.onWebSocketClose(1013, "");
    assertEquals(0, node.hub.reserved(), "given back once");
    assertEquals(0, node.sockets.openSockets());
  }

  @Test
  void theSocketClosesWith1008WhenItsTokenExpires() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1", node.clock.instant().plusSeconds(30));
    node.advance(Duration.ofSeconds(29));
    assertEquals(List.of(), s.jetty().closes());
    node.advance(Duration.ofSeconds(1));
    assertEquals(List.of(1008), s.jetty().closes());
  }

  /** The README's promise: closed within one tick (100 ms) of the token's exp, never before it. */
  @Test
  void theExpiryCloseComesWithinOneTickOfExp() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1", node.clock.instant().plusMillis(30_050));
    node.advanceInTicks(Duration.ofSeconds(30));
    assertEquals(List.of(), s.jetty().closes(), "not before exp");
    node.advanceInTicks(T.tick());
    assertEquals(List.of(1008), s.jetty().closes(), "by the first tick after exp");
    assertTrue(T.tick().compareTo(Duration.ofMillis(100)) <= 0, "the README says 100 ms");
  }

  /** Pinged every interval while it answers; silent for two intervals, it is disconnected, once. */
  @Test
  void aLiveSocketIsPingedAndASilentOneDropped() throws Exception {
    node.identity.serve();
    SocketFixture.Socket s = node.open("u1");
    Duration interval = SocketLimits.defaults().pingInterval();
    for (int i = 1; i <= 3; i++) {
      node.advance(interval);
      s.endpoint().onWebSocketPong(java.nio.ByteBuffer.allocate(0));
      assertEquals(i, s.jetty().pings());
    }
    node.advance(interval);
    assertEquals(4, s.jetty().pings(), "silent for one interval: pinged again");
    node.advance(interval.plusMillis(1));
    assertEquals(1, s.jetty().disconnects());
    node.advance(interval.multipliedBy(3));
    assertEquals(1, s.jetty().disconnects(), "once");
    assertEquals(4, s.jetty().pings());
  }

  /** The drain and fencing: what a socket holds goes back at once, and it is closed with the code given. */
  @Test
  void closeAllHandsBackWhatEachSocketHeldAndClosesIt() throws Exception {
    node.identity.serve();
    SocketFixture.Socket settling = node.open("u1");
    CompletableFuture<SocketOutcome> held = settling.connection().deliver(node.message("m1"));
    JettySocket handshaken = node.handshake("u2");
    node.sockets.closeAll(SocketClose.DRAINING);
    RecordingSession late = new RecordingSession();
    handshaken.onWebSocketOpen(late.session());
    assertEquals(List.of(1012), late.closes(), "its upgrade completing after the drain began: told to reconnect");
    handshaken.onWebSocketClose(1012, "");
    assertEquals(SocketOutcome.NO_SOCKET, held.join());
    assertEquals(List.of(1012), settling.jetty().closes());
    assertEquals(Connection.State.CLOSED, handshaken.connection().state(), "a socket not open yet is just forgotten");
    assertEquals(1, node.sockets.openSockets(), "until its close is in");
    settling.closedBy(1012);
    assertEquals(0, node.sockets.openSockets());
    assertTrue(node.sockets.awaitClosed(java.time.Instant.now()));
    assertEquals(0, node.hub.reserved());
  }

  /** A consumer that reads nothing: closed with 1013 at overflow, disconnected after the grace. */
  @Test
  void aSlowConsumerIsClosedWith1013ThenDisconnected() throws Exception {
    try (SocketFixture small = new SocketFixture(SocketLimits.defaults().withOutbound(2, 1 << 20), null, null, 10)) {
      SocketFixture.Socket s = small.live("u1");
      s.jetty().holdWrites(); // the network takes nothing more
      CompletableFuture<SocketOutcome> first = s.connection().deliver(small.message("m1"));
      s.connection().deliver(small.message("m2"));
      assertEquals(List.of(), s.jetty().closes());
      CompletableFuture<SocketOutcome> third = s.connection().deliver(small.message("m3"));
      assertEquals(List.of(1013), s.jetty().closes());
      assertEquals(SocketOutcome.NO_SOCKET, third.join(), "not written");
      assertEquals(SocketOutcome.NO_SOCKET, first.join(), "handed back: it may never have reached the app");
      small.advance(SocketTimings.DEFAULT.slowConsumerGrace().minusMillis(100));
      assertEquals(0, s.jetty().disconnects());
      small.advance(Duration.ofMillis(100));
      assertEquals(1, s.jetty().disconnects(), "it never read its close frame");
    }
  }
}
