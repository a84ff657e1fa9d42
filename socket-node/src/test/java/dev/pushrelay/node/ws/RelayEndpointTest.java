package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingSession;
import dev.pushrelay.tracing.MessageTracing;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One socket's Jetty endpoint against a recording session, an in-memory registry and a held
 * publisher: what it answers to each kind of client frame, and when it closes the socket.
 */
class RelayEndpointTest {
  private final MutableClock clock = new MutableClock(Instant.now());
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final NodeIdentity identity = new NodeIdentity("n1");
  private final ConnectionHub hub = new ConnectionHub(10);
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final HeldPublisher pubsub = new HeldPublisher();
  private final ConnectionLifecycle lifecycle = new ConnectionLifecycle(identity, hub, registry,
      c -> CompletableFuture.completedFuture(null), clock, 64, timers, RelayMetrics.noop(Part.SOCKET_NODE),
      new Upstream(pubsub, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE), MessageTracing.noop(), timers));
  private final RecordingSession jetty = new RecordingSession();

  @AfterEach
  void stop() {
    timers.shutdownNow();
  }


  private RelayEndpoint open(SocketLimits limits, Instant tokenExpiry) throws Exception {
    identity.serve();
    Reservation reservation = hub.reserve("u1");
    RelayEndpoint endpoint = new RelayEndpoint(lifecycle, new VerifiedToken("u1", tokenExpiry), "c1", clock.instant(),
        reservation, new SocketPolicy(limits, timers, new SocketLiveness(limits.deadAfter())));
    endpoint.onWebSocketOpen(jetty.session());
    awaitFrame("connection_established");
    return endpoint;
  }

  private RelayEndpoint open() throws Exception {
    return open(SocketLimits.defaults(), clock.instant().plusSeconds(3600));
  }

  private String awaitFrame(String contains) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      for (String f : jetty.sent()) {
        if (f.contains(contains)) {
          return f;
        }
      }
      TimeUnit.MILLISECONDS.sleep(5);
    }
    throw new AssertionError("no frame with " + contains + " in " + jetty.sent());
  }

  @Test
  void aPingIsAnsweredAndAnUnknownFrameGetsAnError() throws Exception {
    RelayEndpoint e = open();
    e.onWebSocketText("{\"type\":\"ping\"}");
    awaitFrame("\"type\":\"pong\"");
    e.onWebSocketText("{\"type\":\"shout\"}");
    awaitFrame("unknown_type");
    assertEquals(List.of(), jetty.closes());
  }

  @Test
  void aPublishIsAnsweredAcceptedOnceItIsPublished() throws Exception {
    RelayEndpoint e = open();
    e.onWebSocketText("{\"type\":\"publish\",\"id\":\"p1\",\"event\":\"e\",\"data\":{}}");
    awaitFrame("{\"type\":\"accepted\",\"id\":\"p1\"}");
    assertTrue(pubsub.types().contains("message"));
  }

  @Test
  void aFrameOver16KiBIsRefusedAsTooLargeWithItsPublishIdAndTheSocketStays() throws Exception {
    RelayEndpoint e = open();
    e.onWebSocketText("{\"type\":\"publish\",\"id\":\"big\",\"event\":\"e\",\"data\":\"" + "é".repeat(9000) + "\"}");
    String refusal = awaitFrame("too_large");
    assertTrue(refusal.contains("\"id\":\"big\""), refusal);
    assertEquals(List.of(), jetty.closes());
    assertTrue(!pubsub.types().contains("message"), "never published");
  }

  /** Over the rate limit every publish still gets its own answer; sustained flooding closes with 1008. */
  @Test
  void publishesOverTheRateLimitAreEachAnsweredAndFloodingCloses() throws Exception {
    RelayEndpoint e = open(SocketLimits.defaults().withInboundRate(1, 2), clock.instant().plusSeconds(3600));
    for (int i = 0; i < 4; i++) {
      e.onWebSocketText("{\"type\":\"publish\",\"id\":\"r" + i + "\",\"event\":\"e\",\"data\":" + i + "}");
    }
    for (int i = 2; i < 4; i++) {
      assertTrue(awaitFrame("\"id\":\"r" + i + "\"").contains("rate_limited"));
    }
    for (int i = 0; i < 10; i++) {
      e.onWebSocketText("{\"type\":\"ping\"}");
    }
    assertEquals(List.of(1008), jetty.closes());
  }

  @Test
  void aBinaryFrameClosesWith1003() throws Exception {
    RelayEndpoint e = open();
    e.onWebSocketBinary(ByteBuffer.wrap(new byte[] {1}), Callback.NOOP);
    assertEquals(List.of(1003), jetty.closes());
  }

  @Test
  void theSocketClosesWith1008WhenItsTokenExpires() throws Exception {
    open(SocketLimits.defaults(), clock.instant().plus(Duration.ofMillis(50)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (jetty.closes().isEmpty() && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(10);
    }
    assertEquals(List.of(1008), jetty.closes());
  }

  @Test
  void aCloseUnregistersAndTellsTheBackend() throws Exception {
    RelayEndpoint e = open();
    e.onWebSocketClose(1000, "bye");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!registry.connections().isEmpty() && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(10);
    }
    assertTrue(registry.connections().isEmpty());
    assertEquals(List.of("connected", "disconnected"), pubsub.types());
    assertEquals(0, hub.size());
    assertEquals(0, hub.reserved(), "the reservation is given back");
  }
}
