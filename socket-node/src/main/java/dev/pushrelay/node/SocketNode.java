package dev.pushrelay.node;

import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.mailbox.FirestoreMailbox;
import dev.pushrelay.metrics.CountingPublisher;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.metrics.ObservableLongGauge;
import dev.pushrelay.node.delivery.DeliveryReceiver;
import dev.pushrelay.node.delivery.MailboxCatchUp;
import dev.pushrelay.node.delivery.Rerouter;
import dev.pushrelay.node.delivery.SubscriptionSweeper;
import dev.pushrelay.node.registry.LapsedNodeCleaner;
import dev.pushrelay.node.delivery.NodeSubscription;
import dev.pushrelay.node.http.NodeHttpHandler;
import dev.pushrelay.node.http.Readiness;
import dev.pushrelay.node.registry.NodeHeartbeat;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.ConnectionLifecycle;
import dev.pushrelay.node.ws.LocalConnection;
import dev.pushrelay.node.ws.SocketCreator;
import dev.pushrelay.node.ws.SocketLiveness;
import dev.pushrelay.node.ws.SocketPolicy;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.PubSubMessagePublisher;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.FirestoreRegistryStore;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The composition root of a socket node: builds every part once, starts them, and drains them at stop. */
public final class SocketNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SocketNode.class);
  /** Largest client frame accepted; larger closes the socket with 1009. */
  public static final int MAX_INBOUND_FRAME_BYTES = 16 * 1024;
  private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);

  private final NodeConfig config;
  private final Clock clock;
  private final GcpClients clients;
  private final MessagePublisher messagePublisher;
  private final RelayPublisher publisher;
  private final RegistryStore registry;
  private final ConnectionHub hub;
  private final ConnectionLifecycle lifecycle;
  private final NodeSubscription subscription;
  private final NodeHeartbeat heartbeat;
  private final Rerouter rerouter;
  private final SubscriptionSweeper sweeper;
  private final LapsedNodeCleaner cleaner;
  private final ScheduledExecutorService scheduler;
  private final ScheduledThreadPoolExecutor socketTimers;
  private final SocketLiveness liveness;
  private final AtomicBoolean draining = new AtomicBoolean();
  /**
   * How long after leaving the registry a draining node still expects deliveries: a route's registry
   * read runs out after {@link RegistryStore#ROUTE_LOOKUP_TIMEOUT}, and its publish follows at once.
   */
  static final Duration IN_FLIGHT_ROUTES = RegistryStore.ROUTE_LOOKUP_TIMEOUT.plusSeconds(2);
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final Server server;
  private final Telemetry telemetry;
  private final RelayMetrics metrics;
  private final ObservableLongGauge activeConnections;

  /** A node whose metrics are served at {@code /metrics} only (tests, embedded use). */
  public SocketNode(NodeConfig config, Clock clock) {
    this(config, clock, Telemetry.local("socket-node"));
  }

  /** {@code telemetry} holds the node's instruments; the node closes it when it stops. */
  public SocketNode(NodeConfig config, Clock clock, Telemetry telemetry) {
    this.config = config;
    this.clock = clock;
    this.telemetry = telemetry;
    this.metrics = new RelayMetrics(telemetry.meter(), Part.SOCKET_NODE);
    this.clients = new GcpClients(config.endpoints());
    this.messagePublisher = new CountingPublisher(new PubSubMessagePublisher(clients), metrics);
    this.publisher = new RelayPublisher(messagePublisher, config.topology());
    this.registry = new FirestoreRegistryStore(clients.firestore(), metrics);
    this.hub = new ConnectionHub(config.maxConnections(), config.limits().maxConnectionsPerUser());
    this.activeConnections = metrics.observeActiveConnections(hub::size);
    FirestoreMailbox mailbox = new FirestoreMailbox(clients.firestore(), metrics);
    this.rerouter = new Rerouter(publisher, mailbox, metrics);
    this.lifecycle = new ConnectionLifecycle(config.nodeId(), hub, registry, rerouter, clock,
        config.limits().outboundFrames(), metrics);
    this.lifecycle.setCatchUp(new MailboxCatchUp(mailbox, clock, metrics, new MessageTracing(telemetry)));
    this.subscription = new NodeSubscription(clients, config.topology(), config.nodeId());
    this.heartbeat = new NodeHeartbeat(config.nodeId(), registry, clock,
        config.topology().nodeHeartbeatSeconds(), config.topology().nodeLeaseSeconds());
    this.sweeper = new SubscriptionSweeper(clients, rerouter);
    this.cleaner = new LapsedNodeCleaner(config.nodeId(), registry, clients, sweeper, config.topology(), clock);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "node-scheduler");
      t.setDaemon(true);
      return t;
    });
    // per-socket timers (open deadline, token expiry, liveness sweep) on a thread of their own, so they
    // never wait behind the registry and Pub/Sub calls of the node scheduler; cancelled ones leave at once
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "socket-timers");
      t.setDaemon(true);
      return t;
    });
    timers.setRemoveOnCancelPolicy(true);
    this.socketTimers = timers;
    this.liveness = new SocketLiveness(config.limits().deadAfter());
    this.server = new Server();
  }

  /** Binds the port, creates the subscription, beats once, and starts pulling. */
  public SocketNode start() throws Exception {
    ServerConnector connector = new ServerConnector(server);
    connector.setPort(config.port());
    server.addConnector(connector);
    Readiness readiness = new Readiness()
        .check("not_draining", () -> !draining.get())
        .check("subscription_pulling", subscription::pulling)
        .check("registry_reachable", heartbeat::healthy);
    ContextHandler context = new ContextHandler("/");
    TokenVerifier verifier = new TokenVerifier(config.tokens());
    verifier.warmUp().ifPresent(problem -> LOG.warn("the token signing keys at {} could not be fetched at start ({}); "
        + "retrying when sockets connect", config.tokens().jwksUrl().map(Object::toString).orElse("-"), problem));
    SocketPolicy policy = new SocketPolicy(config.limits(), socketTimers, liveness);
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, context, container -> {
      container.setIdleTimeout(IDLE_TIMEOUT);
      container.setMaxTextMessageSize(MAX_INBOUND_FRAME_BYTES);
      container.setMaxBinaryMessageSize(MAX_INBOUND_FRAME_BYTES);
      container.addMapping("/ws", new SocketCreator(verifier, lifecycle, hub, clock, config.allowedOrigins(),
          draining::get, metrics, policy));
    });
    ws.setHandler(new NodeHttpHandler(config, readiness, clock, telemetry));
    context.setHandler(ws);
    server.setHandler(context);
    server.setStopTimeout(2000);
    server.start();
    subscription.create();
    heartbeat.start(scheduler).get(10, TimeUnit.SECONDS);
    subscription.start(new DeliveryReceiver(config.nodeId(), hub, rerouter, metrics, clock,
        new MessageTracing(telemetry)));
    int period = config.topology().nodeHeartbeatSeconds();
    scheduler.scheduleWithFixedDelay(cleaner::runOnce, period, period, TimeUnit.SECONDS);
    long ping = config.limits().pingInterval().toMillis();
    socketTimers.scheduleWithFixedDelay(() -> liveness.sweep(System.nanoTime()), ping, ping, TimeUnit.MILLISECONDS);
    LOG.info("socket node {} listening on port {} with subscription {}", config.nodeId(), port(),
        subscription.name());
    return this;
  }

  public int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  public String nodeId() {
    return config.nodeId();
  }

  public ConnectionLifecycle lifecycle() {
    return lifecycle;
  }

  public Telemetry telemetry() {
    return telemetry;
  }

  /**
   * The graceful drain (SIGTERM on Cloud Run, 10 s to go): turn unready and refuse new sockets,
   * leave the registry, close sockets with 1012 so clients reconnect elsewhere, re-route what still
   * arrives, then delete the subscription and stop.
   */
  @Override
  public void close() {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    long started = System.nanoTime();
    draining.set(true);
    heartbeat.stop();
    List<String> ids = hub.all().stream().map(LocalConnection::connectionId).toList();
    Instant leaving = Instant.now();
    try {
      registry.removeNode(config.nodeId()).get(3, TimeUnit.SECONDS);
      registry.removeConnections(ids).get(3, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("node {} could not leave the registry cleanly: {}", config.nodeId(), e.toString());
    }
    for (LocalConnection c : hub.all()) {
      lifecycle.release(c);
    }
    lifecycle.closeAll(StatusCode.SERVICE_RESTART, "node draining, reconnect");
    // Routes already in flight when the node left the registry still arrive: the sweep keeps pulling
    // until it has found nothing for two rounds in a row, and at least until every registry read that
    // began before the node left has run out (the send and route functions bound theirs), and re-routes them.
    subscription.stop(2, TimeUnit.SECONDS);
    try {
      int rerouted = sweeper.sweep(subscription.name(), config.nodeId(), leaving.plus(IN_FLIGHT_ROUTES));
      LOG.info("node {} re-routed {} deliveries left in its subscription", config.nodeId(), rerouted);
      subscription.delete();
    } catch (RuntimeException e) {
      LOG.warn("subscription {} could not be swept and deleted: {}", subscription.name(), e.toString());
    }
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("server stop failed: {}", e.toString());
    }
    scheduler.shutdownNow();
    socketTimers.shutdownNow();
    messagePublisher.close();
    clients.close();
    activeConnections.close();
    telemetry.close();
    LOG.info("socket node {} drained {} sockets in {} ms", config.nodeId(), ids.size(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }
}
