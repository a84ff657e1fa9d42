package dev.pushrelay.node.ws;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.auth.RevocationCheck;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.HeldPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.InMemoryRevocations;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingSession;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.tracing.MessageTracing;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A node's sockets with no network: an in-memory registry, a held publisher for upstream, a catch-up
 * that counts its runs, recording Jetty sessions, and a fake clock that drives both the wall clock and
 * the node's monotonic one. Nothing is timed by a real clock: {@link #advance} moves time and runs the
 * node's one timer once. Every event runs inline (nothing contends), so each call's effects are there
 * when it returns.
 */
public final class SocketFixture implements AutoCloseable {
  public static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  public final MutableClock clock = new MutableClock(START);
  public final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  public final NodeIdentity identity = new NodeIdentity("n1");
  public final ConnectionHub hub;
  /** Holds every publish while the test says so, so that the order of events can be seen. */
  public final HeldPublisher pubsub = new HeldPublisher();
  /** For the retries of connection events only; the sockets' deadlines run on {@link #advance}. */
  public final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  public final AtomicInteger catchUps = new AtomicInteger();
  /** The users' revocations, as renewals read them. */
  public final InMemoryRevocations revocations = new InMemoryRevocations();
  /**
   * Where renewed tokens are verified: queued here until {@link #verifyRenewals} runs them, so a test
   * sees that nothing is verified on the socket's events.
   */
  public final java.util.concurrent.ConcurrentLinkedQueue<Runnable> renewalQueue =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  public final NodeSockets sockets;
  /** The sockets' metrics, kept in memory. */
  public final dev.pushrelay.testing.MetricsProbe metrics = new dev.pushrelay.testing.MetricsProbe();

  /** One socket as the test sees it: its Jetty side, its connection, and the Jetty session it writes to. */
  public record Socket(JettySocket endpoint, RecordingSession jetty) {
    public Connection connection() {
      return endpoint.connection();
    }

    public List<String> sent() {
      return jetty.sent();
    }

    /** The ids of the message frames written, in order. */
    public List<String> messageIds() {
      return jetty.sent().stream().filter(f -> f.startsWith("{\"type\":\"message\""))
          .map(f -> f.replaceAll(".*\"id\":\"([^\"]+)\".*", "$1")).toList();
    }

    public void text(String frame) {
      endpoint.onWebSocketPartialText(frame, true);
    }

    public void closedBy(int code) {
      endpoint.onWebSocketClose(code, "");
    }

    public void ack(String id) {
      text("{\"type\":\"ack\",\"id\":\"" + id + "\"}");
    }
  }

  public SocketFixture() {
    this(SocketLimits.defaults(), null, null, 10);
  }

  /**
   * {@code registryView}: what the sockets see of {@link #registry} (null: the registry itself);
   * {@code catchUp}: the mailbox catch-up (null: one that finds nothing and counts its runs).
   */
  public SocketFixture(SocketLimits limits, UnaryOperator<RegistryStore> registryView, NodeSockets.CatchUp catchUp,
      int capacity) {
    this(limits, registryView, catchUp, capacity, SocketTimings.DEFAULT);
  }

  /** The same with the socket timings given (a registry deadline short enough to pass in a test). */
  public SocketFixture(SocketLimits limits, UnaryOperator<RegistryStore> registryView, NodeSockets.CatchUp catchUp,
      int capacity, SocketTimings timings) {
    this.hub = new ConnectionHub(capacity, limits.maxConnectionsPerUser(), new NodeMemory(limits.memoryBudgetBytes()));
    Upstream upstream = new Upstream(pubsub, "relay-upstream", clock, RelayMetrics.noop(Part.SOCKET_NODE),
        MessageTracing.noop(), timers);
    NodeSockets.CatchUp counting = new NodeSockets.CatchUp() {
      @Override
      public CompletableFuture<MailboxLook> look(String user, String connectionId, boolean caughtUp) {
        catchUps.incrementAndGet();
        return catchUp == null ? CompletableFuture.completedFuture(nothing())
            : catchUp.look(user, connectionId, caughtUp);
      }

      @Override
      public CompletableFuture<MailboxLook> next(String user, String connectionId,
          dev.pushrelay.mailbox.MailboxCursor after) {
        catchUps.incrementAndGet();
        return catchUp.next(user, connectionId, after); // only a catch-up that pages asks for a next page
      }
    };
    this.sockets = new NodeSockets(new NodeSockets.Parts(identity, hub, registryView == null ? registry : registryView.apply(registry),
        counting, upstream, metrics.relayMetrics(Part.SOCKET_NODE), limits, timings, clock,
        () -> clock.millis() * 1_000_000L,
        new TokenRenewal(new TokenVerifier(TestTokens.SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            new RevocationCheck(revocations, clock), renewalQueue::add, clock)), timers);
  }

  /** A node serving, whose sockets' looks are {@code catchUp}'s. */
  public static SocketFixture serving(NodeSockets.CatchUp catchUp) {
    SocketFixture f = new SocketFixture(SocketLimits.defaults(), null, catchUp, 100);
    f.identity.serve();
    return f;
  }

  /** A look that found nothing. */
  public static MailboxLook nothing() {
    return new MailboxLook(List.of(), Optional.empty());
  }

  /** A look that found {@code messages}; each one's settlement completes its future in {@code settled}. */
  public static MailboxLook found(List<RelayMessage> messages, List<CompletableFuture<SocketOutcome>> settled) {
    List<MailboxLook.Found> found = new java.util.ArrayList<>();
    for (RelayMessage m : messages) {
      CompletableFuture<SocketOutcome> f = new CompletableFuture<>();
      settled.add(f);
      found.add(new MailboxLook.Found(m, (o, written) -> f.complete(o)));
    }
    return new MailboxLook(found, Optional.empty());
  }

  /** A handshake accepted for {@code user}, not opened yet. */
  public JettySocket handshake(String user) throws ConnectionHub.CapacityException {
    hub.reserve(user);
    return sockets.accept(new VerifiedToken(user, clock.instant().plusSeconds(3600)), clock.instant());
  }

  /** A socket of {@code user} opened (registered and caught up when the node serves: settling). */
  public Socket open(String user) throws ConnectionHub.CapacityException {
    return open(user, clock.instant().plusSeconds(3600));
  }

  public Socket open(String user, Instant tokenExpiry) throws ConnectionHub.CapacityException {
    hub.reserve(user);
    return opened(sockets.accept(new VerifiedToken(user, tokenExpiry), clock.instant()));
  }

  /** A socket of {@code user} with the connection id given, opened. */
  public Socket openAs(String connectionId, String user) throws ConnectionHub.CapacityException {
    hub.reserve(user);
    return opened(sockets.accept(new VerifiedToken(user, clock.instant().plusSeconds(3600)), clock.instant(),
        connectionId));
  }

  private Socket opened(JettySocket c) {
    RecordingSession jetty = new RecordingSession();
    c.onWebSocketOpen(jetty.session());
    return new Socket(c, jetty);
  }

  /** A socket of {@code user} past its settling window. */
  public Socket live(String user) throws ConnectionHub.CapacityException {
    identity.serve();
    Socket s = open(user);
    advance(SocketTimings.DEFAULT.secondLook());
    if (s.connection().state() != Connection.State.LIVE) {
      throw new AssertionError("not live: " + s.connection().state());
    }
    return s;
  }

  /** Runs the token verifications renewals queued, as the node's renewal threads would. */
  public void verifyRenewals() {
    for (Runnable r; (r = renewalQueue.poll()) != null; ) {
      r.run();
    }
  }

  /** Moves both clocks on and runs the node's timer once. */
  public void advance(Duration d) {
    clock.advance(d);
    sockets.tick();
  }

  /** Moves time on in ticks, running the timer at each: deadlines fire in the order they fall. */
  public void advanceInTicks(Duration d) {
    Duration tick = SocketTimings.DEFAULT.tick();
    for (Duration left = d; !left.isNegative() && !left.isZero(); left = left.minus(tick)) {
      advance(tick.compareTo(left) < 0 ? tick : left);
    }
  }

  public RelayMessage message(String id) {
    return new RelayMessage(id, "u1", "e", null, clock.instant(), 3600, Priority.NORMAL);
  }

  public static RelayMessage acceptedAt(String id, int second, Priority priority) {
    return new RelayMessage(id, "u1", "e", null, START.plusSeconds(second), 3600, priority);
  }

  public static RelayMessage acceptedAt(String id, int second) {
    return acceptedAt(id, second, Priority.NORMAL);
  }

  @Override
  public void close() {
    timers.shutdownNow();
    metrics.close();
  }
}
