package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingSession;
import dev.pushrelay.tracing.MessageTracing;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.websocket.api.Session;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The connect path and the registry's upkeep, with an in-memory registry and a recording session. */
class ConnectionLifecycleTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final NodeIdentity identity = new NodeIdentity("n1");
  private final ConnectionHub hub = new ConnectionHub(10);
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final AtomicInteger catchUps = new AtomicInteger();
  private final RecordingSession jetty = new RecordingSession();
  /** Holds every publish until the test lets it through, so that the order of events can be seen. */
  private final HeldPublisher pubsub = new HeldPublisher();
  private final Upstream upstream = new Upstream(pubsub, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE),
      MessageTracing.noop(), timers);
  private final ConnectionLifecycle lifecycle = new ConnectionLifecycle(identity, hub, registry, c -> {
    catchUps.incrementAndGet();
    return CompletableFuture.completedFuture(null);
  }, clock, 16, timers, RelayMetrics.noop(Part.SOCKET_NODE), upstream);

  @AfterEach
  void stop() {
    timers.shutdownNow();
  }

  private Session session() {
    return jetty.session();
  }

  private LocalConnection open(String id, String user) {
    LocalConnection c = new LocalConnection(id, user, new OutboundQueue((text, written, failed) -> written.run(), 16),
        clock);
    lifecycle.opened(c, new VerifiedToken(user, clock.instant().plusSeconds(3600)), session(), clock.instant());
    return c;
  }

  @Test
  void aSocketIsRegisteredCaughtUpAndListed() {
    identity.serve();
    open("c1", "u1");
    assertEquals(Set.of("c1"), registry.connections().keySet());
    assertEquals("n1", registry.connections().get("c1").nodeId());
    assertEquals(1, catchUps.get());
    assertEquals(1, hub.size());
  }

  /** Registered under an incarnation that lost its lease meanwhile: closed with 1012 so the client registers again. */
  @Test
  void aSocketRegisteredUnderAFencedIncarnationIsClosedWith1012() {
    // not serving: the incarnation was fenced while the registry write was in flight
    open("c1", "u1");
    assertEquals(List.of(1012), jetty.closes());
    assertEquals(0, catchUps.get());
  }

  /** A delivery found no socket of the user: entries under this node for sockets it no longer has go. */
  @Test
  void staleEntriesOfAUserOnThisNodeAreRemovedAndOpenOnesKept() {
    identity.serve();
    open("c-open", "u1");
    registry.addConnection(new ConnectionRecord("c-stale", "u1", "n1", clock.instant()));
    registry.addConnection(new ConnectionRecord("c-elsewhere", "u1", "n2", clock.instant()));
    registry.addConnection(new ConnectionRecord("c-other-user", "u2", "n1", clock.instant()));
    lifecycle.noSocketFor("u1");
    assertEquals(Set.of("c-open", "c-elsewhere", "c-other-user"), registry.connections().keySet());
  }

  /**
   * The repair's query may answer after a new socket of the user registered here (a Firestore slow to
   * answer): that socket is not taken for stale. The chaos suite lost messages to this once: the new
   * socket's entry went, and routes found the user nowhere for the rest of its stay.
   */
  @Test
  void aSocketThatRegistersWhileTheRepairQueryRunsIsKept() throws Exception {
    identity.serve();
    CompletableFuture<Void> queryAnswers = new CompletableFuture<>();
    RegistryStore slow = (RegistryStore) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {RegistryStore.class}, (proxy, method, args) -> method.getName().equals("removeStaleConnections")
            ? queryAnswers.thenCompose(v -> {
              try {
                return (CompletableFuture<?>) method.invoke(registry, args);
              } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
              }
            })
            : method.invoke(registry, args));
    ConnectionLifecycle repairing = new ConnectionLifecycle(identity, hub, slow,
        c -> CompletableFuture.completedFuture(null), clock, 16, timers, RelayMetrics.noop(Part.SOCKET_NODE), upstream);
    repairing.noSocketFor("u1"); // a delivery found no socket of u1: its query is on its way
    LocalConnection c = new LocalConnection("c-new", "u1",
        new OutboundQueue((text, written, failed) -> written.run(), 16), clock);
    repairing.opened(c, new VerifiedToken("u1", clock.instant().plusSeconds(3600)), session(), clock.instant());
    assertEquals(Set.of("c-new"), registry.connections().keySet());
    queryAnswers.complete(null);
    assertEquals(Set.of("c-new"), registry.connections().keySet(), "the new socket's entry stays");
  }

  /** A closed socket leaves the hub and the registry. */
  @Test
  void aClosedSocketIsUnregistered() {
    identity.serve();
    LocalConnection c = open("c1", "u1");
    lifecycle.closed(c, 1000);
    assertTrue(registry.connections().isEmpty());
    assertEquals(0, hub.size());
  }

  /**
   * The backend hears connected once the socket is established and disconnected at its close, with the
   * close code; the registry entry stays until the disconnected event is published, so that a node that
   * died first would leave it for the cleanup's node_lost report, and the stale-entry repair keeps it.
   */
  @Test
  void aSocketsEventsFrameItsLifeAndItsEntryOutlivesItsDisconnectedEvent() throws Exception {
    identity.serve();
    LocalConnection c = open("c1", "u1");
    assertEquals(List.of("connected"), pubsub.types());
    pubsub.hold();
    clock.advance(java.time.Duration.ofSeconds(3));
    lifecycle.closed(c, 1001);
    assertEquals(List.of("connected", "disconnected"), pubsub.types());
    assertEquals(0, hub.size(), "no delivery goes to a closed socket");
    lifecycle.noSocketFor("u1");
    assertEquals(Set.of("c1"), registry.connections().keySet(), "kept until its disconnected event is out");
    pubsub.release();
    assertTrue(registry.connections().isEmpty());
    var data = dev.pushrelay.json.JsonCodec.read(pubsub.published().get(1).data());
    assertEquals(1001, data.get("closeCode").asInt());
    assertEquals(3000, data.get("livedMs").asLong());
    assertEquals("closed", data.get("reason").asText());
    assertEquals("c1", pubsub.published().get(1).orderingKey());
  }

  /**
   * A disconnected event that never got out (the node stopped, or gave up) leaves the registry entry, so
   * that the cleanup of this node reports the socket as node_lost rather than nobody at all.
   */
  @Test
  void anEntryWhoseDisconnectedEventFailedStaysForTheCleanup() {
    identity.serve();
    LocalConnection c = open("c1", "u1");
    pubsub.hold();
    timers.shutdownNow(); // the node is stopping: the event's retry cannot be scheduled
    lifecycle.closed(c, 1012);
    pubsub.fail(new RuntimeException("publisher closed"));
    assertEquals(Set.of("c1"), registry.connections().keySet());
  }

  /** A socket that closed before it was established was never announced: no disconnected event either. */
  @Test
  void aSocketRefusedBeforeItWasEstablishedHasNoEvents() {
    open("c1", "u1"); // not serving: closed with 1012 before connection_established
    assertEquals(List.of(), pubsub.types());
  }
}
