package dev.pushrelay.node;

import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.CountingPublisher;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.node.auth.RevocationCheck;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.cleanup.LapsedNodeCleaner;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.delivery.DeliveryChannels;
import dev.pushrelay.node.delivery.DeliveryReceiver;
import dev.pushrelay.node.delivery.MailboxCatchUp;
import dev.pushrelay.node.delivery.NodeSubscription;
import dev.pushrelay.node.delivery.BackToRequests;
import dev.pushrelay.node.delivery.SubscriptionSweeper;
import dev.pushrelay.node.http.Readiness;
import dev.pushrelay.node.registry.NodeHeartbeat;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.node.util.DaemonThreads;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.NodeSockets;
import dev.pushrelay.node.ws.SocketClose;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.metrics.ObservableLongGauge;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of a socket node: builds every part once, starts them, and drains them at stop.
 *
 * <p>The node serves under a lease ({@link NodeIdentity}). When its heartbeat loses the lease, or its
 * subscription turns out deleted, it fences itself: stops taking sockets, closes every socket with 1012
 * (the clients reconnect, register again and catch up from the mailbox), stops pulling, and comes back
 * as a new incarnation with a new id, delivery channel and lease; the old one is cleaned up like a
 * crashed node. A node whose revision is retired (a rollback, {@code scripts/rollback.sh --retire})
 * leaves routing as a drain does, closes every socket with 1012, and stays up refusing every handshake
 * with 503 until Cloud Run stops it: it does not come back.
 */
public final class SocketNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SocketNode.class);
  /** The whole drain fits in Cloud Run's 10 s between SIGTERM and SIGKILL, with room for the exit. */
  static final Duration DRAIN_BUDGET = Duration.ofSeconds(8);
  private static final Duration RESTART_PAUSE = Duration.ofSeconds(1);
  /** How long a starting node keeps trying to reach Pub/Sub and Firestore before it gives up (and exits). */
  private static final Duration START_PATIENCE = Duration.ofSeconds(60);
  /** A draining node stops pulling once nothing has come for this long (its topic is gone by then). */
  static final Duration DRAIN_QUIET = Duration.ofMillis(1500);

  /** One incarnation's lease and deliveries. */
  private record Incarnation(String nodeId, NodeHeartbeat heartbeat, NodeSubscription subscription) {}

  private final NodeConfig config;
  private final Clock clock;
  private final NodeBackends backends;
  private final MessagePublisher messagePublisher;
  private final RegistryStore registry;
  private final NodeIdentity identity;
  private final ConnectionHub hub;
  private final NodeSockets sockets;
  private final BackToRequests backToRequests;
  private final DeliveryChannels channels;
  private final LapsedNodeCleaner cleaner;
  private final ScheduledThreadPoolExecutor socketTimers;
  private final ExecutorService fencing;
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final AtomicBoolean retired = new AtomicBoolean();
  private final NodeServer server = new NodeServer();
  private final Telemetry telemetry;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;
  private final ObservableLongGauge activeConnections;
  private final Upstream upstream;
  private final TokenVerifier verifier;
  private final RevocationCheck revocations;
  /** Where tokens renewed in band are verified: a JWKS key fetch may block, never a Jetty thread. */
  private final ThreadPoolExecutor renewals;
  private volatile Incarnation current;

  /** A node whose metrics are served at {@code /metrics} only (tests, embedded use). */
  public SocketNode(NodeConfig config, Clock clock) {
    this(config, clock, Telemetry.local("socket-node"));
  }

  /** {@code telemetry} holds the node's instruments; the node closes it when it stops. */
  public SocketNode(NodeConfig config, Clock clock, Telemetry telemetry) {
    this(config, clock, telemetry, metrics -> NodeBackends.google(config.endpoints(), config.topology(), metrics));
  }

  /** A node on the cloud {@code backends} builds (with the node's metrics); it closes them when it stops. */
  public SocketNode(NodeConfig config, Clock clock, Telemetry telemetry,
      java.util.function.Function<RelayMetrics, NodeBackends> backends) {
    this.config = config;
    this.clock = clock;
    this.telemetry = telemetry;
    this.metrics = new RelayMetrics(telemetry.meter(), Part.SOCKET_NODE);
    this.tracing = new MessageTracing(telemetry);
    Topology topology = config.topology();
    this.backends = backends.apply(metrics);
    this.messagePublisher = new CountingPublisher(this.backends.publisher(), metrics, topology::topicLabel);
    RelayPublisher publisher = new RelayPublisher(messagePublisher, topology);
    this.registry = this.backends.registry();
    this.identity = new NodeIdentity(config.nodeId());
    this.hub = ConnectionHub.forNode(config.maxConnections(), config.limits());
    this.activeConnections = metrics.observeActiveConnections(hub::size);
    var mailbox = this.backends.mailbox();
    this.backToRequests = new BackToRequests(new ParkFirst(mailbox, publisher, clock), metrics);
    // the sockets' one timer, and the retries of connection events, on a thread of their own, so they
    // never wait behind registry or Pub/Sub calls
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("socket-timers"));
    timers.setRemoveOnCancelPolicy(true);
    this.socketTimers = timers;
    this.upstream = new Upstream(messagePublisher, topology.upstreamTopic(), clock, metrics, tracing, socketTimers);
    this.verifier = new TokenVerifier(config.tokens());
    this.revocations = new RevocationCheck(this.backends.revocations(), clock);
    // a revocation seen after a socket connected closes it, whichever node it reached before the revocation
    // was known there (the disconnect order reaches only the nodes the registry listed at the time)
    this.backends.revocations().onRevoked((user, before) -> {
      int closed = hub.closeUserIssuedBefore(user, before, SocketClose.DISCONNECTED);
      if (closed > 0) {
        LOG.info("a revocation closed {} sockets holding older tokens", closed);
      }
    });
    this.renewals = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1000),
        DaemonThreads.named("token-renewals"));
    this.sockets = new NodeSockets(new NodeSockets.Parts(identity, hub, registry,
        MailboxCatchUp.forNode(mailbox, clock, metrics, tracing, publisher), upstream, metrics, config.limits(),
        SocketTimings.DEFAULT, clock, System::nanoTime, new TokenRenewal(verifier, revocations, renewals, clock)), socketTimers);
    this.channels = new DeliveryChannels(this.backends.broker(), topology,
        new SubscriptionSweeper(this.backends.broker(), backToRequests, new LiveRoute(registry, publisher, clock)));
    this.cleaner = new LapsedNodeCleaner(identity, this::leaseHealthy, registry,
        LapsedNodeCleaner.Channels.of(channels::retire, channels::nodesWithSubscriptions), upstream, clock);
    this.fencing = Executors.newSingleThreadExecutor(DaemonThreads.named("node-fencing"));
  }

  /** Binds the port, opens the delivery channel, takes the lease, and starts pulling. */
  public SocketNode start() throws Exception {
    Readiness readiness = new Readiness()
        .check("not_draining", () -> !draining.get())
        .check("lease_held", identity::serving)
        .check("subscription_pulling", () -> current != null && current.subscription().pulling())
        .check("registry_reachable", this::leaseHealthy);
    verifier.warmUp().ifPresent(problem -> LOG.warn("the token signing keys at {} could not be fetched at start ({}); "
        + "retrying when sockets connect", config.tokens().jwksUrl().map(Object::toString).orElse("-"), problem));
    server.start(config, identity, readiness, verifier, revocations, sockets, clock,
        () -> draining.get() || !identity.serving(), metrics, telemetry);
    try {
      current = beginWhenPossible(identity.id(), START_PATIENCE);
    } catch (RevisionRetired e) {
      LOG.warn("socket node {} listening on port {} refuses every socket: its revision {} is retired", identity.id(),
          port(), config.revision());
      return this;
    }
    cleaner.start(Duration.ofSeconds(config.topology().nodeHeartbeatSeconds()));
    sockets.start();
    LOG.info("socket node {} of revision {} listening on port {} with subscription {}", identity.id(),
        config.revision().isEmpty() ? "-" : config.revision(), port(), current.subscription().name());
    return this;
  }

  /** Throws {@link RevisionRetired}, and remembers it, when a rollback retired this node's revision. */
  private void refuseIfRetired() throws Exception {
    if (registry.revisionRetired(config.revision()).get(5, TimeUnit.SECONDS)) {
      retired.set(true);
      throw new RevisionRetired();
    }
  }

  /** Opens the incarnation's channel, takes its lease, starts its pulls, and serves under it. */
  private Incarnation begin(String nodeId) throws Exception {
    refuseIfRetired();
    NodeSubscription subscription = channels.open(nodeId);
    Topology topology = config.topology();
    NodeHeartbeat heartbeat = new NodeHeartbeat(nodeId, config.revision(), registry, clock,
        topology.nodeHeartbeatSeconds(), topology.nodeLeaseSeconds(), () -> fence(nodeId, "lease lost"),
        () -> retire(nodeId));
    try {
      heartbeat.start().get(10, TimeUnit.SECONDS);
      // once more, now that the node document exists: a rollback marks the revision, then the nodes it
      // finds; a node whose document came after that query learns it here
      refuseIfRetired();
    } catch (Exception e) {
      heartbeat.close(); // the lease lapses and the crash cleanup removes the channel opened for nothing
      throw e;
    }
    subscription.start(new DeliveryReceiver(nodeId, hub, backToRequests, metrics, clock, tracing, sockets::noSocketFor),
        () -> fence(nodeId, "subscription deleted"));
    identity.serve();
    return new Incarnation(nodeId, heartbeat, subscription);
  }

  private boolean leaseHealthy() {
    Incarnation c = current;
    return c != null && c.heartbeat().healthy();
  }

  /**
   * The incarnation {@code nodeId} may have been declared dead: stop serving under it and come back as
   * the next one. Runs once per incarnation, on the fencing thread.
   */
  private void fence(String nodeId, String why) {
    if (stopped.get()) {
      return; // draining: the drain ends this incarnation itself
    }
    fencing.execute(() -> {
      Incarnation old = current;
      if (stopped.get() || old == null || !old.nodeId().equals(nodeId) || !nodeId.equals(identity.id())) {
        return;
      }
      long started = System.nanoTime();
      identity.fence();
      old.heartbeat().close();
      int held = hub.size();
      sockets.closeAll(SocketClose.LEASE_LOST);
      old.subscription().stop(2, TimeUnit.SECONDS);
      String next = identity.next();
      LOG.warn("node {} fenced ({}): closed {} sockets, coming back as {}", nodeId, why, held, next);
      try {
        current = beginWhenPossible(next, Duration.ofDays(365));
        LOG.info("node {} serving as {} after {} ms", nodeId, next,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } catch (RevisionRetired e) {
        current = null;
        LOG.warn("node {} does not come back: its revision {} is retired", nodeId, config.revision());
      } catch (Exception e) {
        LOG.warn("node incarnation {} did not start: {}", next, e.toString());
      }
    });
  }

  /**
   * The revision of incarnation {@code nodeId} was retired (a rollback): leave routing as a drain does,
   * sockets closed with 1012 so that their clients reconnect to a revision that serves, and stay out.
   * Runs once, on the fencing thread.
   */
  private void retire(String nodeId) {
    if (stopped.get()) {
      return;
    }
    fencing.execute(() -> {
      Incarnation inc = current;
      if (stopped.get() || inc == null || !inc.nodeId().equals(nodeId)) {
        return;
      }
      long started = System.nanoTime();
      retired.set(true);
      int held = hub.size();
      leave(inc, Instant.now().plus(DRAIN_BUDGET), SocketClose.RETIRED);
      current = null;
      LOG.warn("node {} of retired revision {} closed {} sockets and left routing in {} ms; it refuses new ones",
          nodeId, config.revision(), held, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    });
  }

  /** True once the node found its revision retired. */
  public boolean retired() {
    return retired.get();
  }

  /**
   * {@link #begin}, tried again every second while Pub/Sub or Firestore cannot be reached yet (an
   * emulator still starting, an outage), until {@code patience} runs out or the node stops.
   */
  private Incarnation beginWhenPossible(String nodeId, Duration patience) throws Exception {
    long deadline = System.nanoTime() + patience.toNanos();
    while (true) {
      try {
        return begin(nodeId);
      } catch (RevisionRetired e) {
        throw e;
      } catch (Exception e) {
        if (stopped.get() || System.nanoTime() > deadline) {
          throw e;
        }
        LOG.warn("node incarnation {} could not start yet, trying again: {}", nodeId, e.toString());
        TimeUnit.MILLISECONDS.sleep(RESTART_PAUSE.toMillis());
      }
    }
  }

  public int port() {
    return server.port();
  }

  /** The id of the incarnation serving now. */
  public String nodeId() {
    return identity.id();
  }

  public NodeSockets sockets() {
    return sockets;
  }

  public Telemetry telemetry() {
    return telemetry;
  }

  /**
   * Leaves routing on purpose (a drain, a retirement): stop serving, end the lease, close every socket
   * with {@code close} (1012), delete the delivery topic, and pull and re-route until the subscription
   * is quiet or {@code deadline} passes. {@code inc} may be null (no incarnation serves): then only the
   * sockets are closed.
   */
  private void leave(Incarnation inc, Instant deadline, SocketClose close) {
    identity.fence();
    CompletableFuture<Void> leaseEnded = CompletableFuture.completedFuture(null);
    if (inc != null) {
      inc.heartbeat().close();
      leaseEnded = registry.retire(inc.nodeId(), clock.instant());
    }
    // the sockets go meanwhile: their clients need not wait for the lease's write to reconnect elsewhere
    sockets.closeAll(close);
    if (inc != null) {
      try {
        leaseEnded.get(3, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("node {} could not end its lease: {}", inc.nodeId(), e.toString());
      }
      try {
        channels.closeTopic(inc.nodeId());
        if (!inc.subscription().awaitQuiet(DRAIN_QUIET, deadline)) {
          LOG.warn("node {} still had deliveries in hand when it left", inc.nodeId());
        }
      } catch (Exception e) {
        LOG.warn("node {} could not finish leaving: {}", inc.nodeId(), e.toString());
      }
      inc.subscription().stop(1, TimeUnit.SECONDS);
    }
  }

  /**
   * The graceful drain (SIGTERM on Cloud Run, 10 s to go): turn unready and refuse new sockets, end
   * the lease, close sockets with 1012 so clients reconnect elsewhere (what they had not acked is routed
   * again), delete the delivery topic (routes in flight fail and are retried), keep pulling until
   * the subscription has been quiet for a moment and every pulled delivery is re-routed, and wait for
   * the sockets' {@code disconnected} events. The subscription itself, and the node's registry entry, are
   * left to a live node's cleanup: only a quiet period longer than the ack deadline proves the subscription
   * empty, and that does not fit in a drain.
   */
  @Override
  public void close() {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    long started = System.nanoTime();
    Instant deadline = Instant.now().plus(DRAIN_BUDGET);
    draining.set(true);
    fencing.shutdownNow();
    cleaner.close();
    Incarnation inc = current;
    String nodeId = identity.id();
    int held = hub.size();
    leave(inc, deadline, SocketClose.DRAINING);
    sockets.awaitClosed(deadline); // every close handled, so every disconnected event is under way
    if (!upstream.awaitOutstanding(deadline)) {
      LOG.warn("node {} stopped with connection events unpublished: the cleanup reports those sockets as node_lost",
          nodeId);
    }
    closeQuietly("the server", server);
    sockets.stop();
    socketTimers.shutdownNow();
    renewals.shutdownNow();
    messagePublisher.close();
    backends.broker().close();
    closeQuietly("the node's clients", backends.resources());
    activeConnections.close();
    telemetry.close();
    LOG.info("socket node {} drained {} sockets in {} ms", nodeId, held,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  private static void closeQuietly(String what, AutoCloseable closing) {
    try {
      closing.close();
    } catch (Exception e) {
      LOG.warn("closing {} failed: {}", what, e.toString());
    }
  }
}
