package dev.pushrelay.bench.jmh;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.auth.RevocationCheck;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.node.ws.Connection;
import dev.pushrelay.node.ws.JettySocket;
import dev.pushrelay.node.ws.MailboxLook;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.SocketOutcome;
import dev.pushrelay.node.ws.NodeSockets;
import dev.pushrelay.node.ws.OutboundQueue;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.InMemoryRevocations;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.tracing.MessageTracing;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The socket node's per-connection send path without the network: the ordered {@link OutboundQueue}
 * alone (each write completed at once, or a backlog completed later in order, as Jetty does when the
 * socket is slower than the producer), and a routed message through {@link Connection} (its event, the
 * duplicate check, unacked tracking, frame JSON, queue) followed by the client's ack frame (read and
 * matched on its event), with an in-memory registry and a session that takes every write at once.
 */
@State(Scope.Thread)
public class SendQueueBench {
  private static final int BATCH = 64;
  /** More distinct ids than the connection remembers (2,048), so each one is written, never suppressed. */
  private static final int MESSAGES = 4096;

  private final ArrayDeque<Runnable> pendingWrites = new ArrayDeque<>();
  private String frame;
  private OutboundQueue immediate;
  private OutboundQueue deferred;
  private Connection connection;
  /** The socket's Jetty side, where the client's acks come in. */
  private JettySocket endpoint;
  private NodeSockets sockets;
  private ScheduledExecutorService timer;
  private RelayMessage[] messages;
  private String[] acks;
  private int next;

  @Setup
  public void setUp() throws Exception {
    messages = new RelayMessage[MESSAGES];
    acks = new String[MESSAGES];
    for (int i = 0; i < MESSAGES; i++) {
      messages[i] = RelayMessage.parse(("{\"id\":\"64e086d6-c524-4e6c-b726-" + String.format("%012d", i)
          + "\",\"userId\":\"demo-user\",\"event\":\"agent_update\","
          + "\"data\":{\"step\":3,\"text\":\"agent finished step 3\",\"tags\":[\"a\",\"b\"]},"
          + "\"sentAt\":\"2026-11-27T05:25:50.980Z\",\"ttlSeconds\":86400,\"priority\":\"normal\"}")
          .getBytes(StandardCharsets.UTF_8));
      acks[i] = "{\"type\":\"ack\",\"id\":\"" + messages[i].id() + "\"}";
    }
    frame = dev.pushrelay.model.ServerFrames.message(messages[0]);
    immediate = new OutboundQueue((text, written, failed) -> written.run(), 1024, 1 << 20, () -> { });
    deferred = new OutboundQueue((text, written, failed) -> pendingWrites.add(written), 1024, 1 << 20, () -> { });
    connection = liveConnection();
  }

  /** A socket past its settling window, on a node whose registry, mailbox and Pub/Sub are in memory. */
  private Connection liveConnection() throws Exception {
    timer = Executors.newSingleThreadScheduledExecutor();
    NodeIdentity identity = new NodeIdentity("bench-node");
    identity.serve();
    ConnectionHub hub = new ConnectionHub(10);
    RelayMetrics metrics = RelayMetrics.noop(Part.SOCKET_NODE);
    Duration ms = Duration.ofMillis(1);
    SocketTimings quick = new SocketTimings(ms, Duration.ofSeconds(5), List.of(ms), ms, ms.multipliedBy(2),
        Duration.ofSeconds(10), List.of(ms), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofMillis(250),
        SocketTimings.DEFAULT.oldestAge(), SocketTimings.DEFAULT.newestAge());
    sockets = new NodeSockets(new NodeSockets.Parts(identity, hub, new InMemoryRegistryStore(),
        (user, id, caughtUp) -> CompletableFuture.completedFuture(
            new MailboxLook(List.of(), java.util.Optional.empty())),
        new Upstream(new RecordingPublisher(), "relay-upstream", Clock.systemUTC(), metrics, MessageTracing.noop(),
            timer),
        metrics, SocketLimits.defaults(), quick, Clock.systemUTC(), System::nanoTime,
        new TokenRenewal(new TokenVerifier(TestTokens.SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            new RevocationCheck(new InMemoryRevocations(), Clock.systemUTC()), Runnable::run, Clock.systemUTC())),
        timer);
    hub.reserve("demo-user");
    endpoint = sockets.accept(new VerifiedToken("demo-user", Clock.systemUTC().instant().plusSeconds(86_400)),
        Clock.systemUTC().instant());
    Connection c = endpoint.connection();
    endpoint.onWebSocketOpen((Session) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {Session.class},
        (proxy, method, args) -> {
          if (method.getName().equals("sendText")) {
            ((Callback) args[1]).succeed();
          }
          return method.getName().equals("isOpen") ? Boolean.TRUE : null;
        }));
    sockets.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (c.state() != Connection.State.LIVE) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the bench socket did not go live: " + c.state());
      }
      TimeUnit.MILLISECONDS.sleep(1);
    }
    TimeUnit.MILLISECONDS.sleep(10); // past its late look
    sockets.stop();
    return c;
  }

  @TearDown
  public void tearDown() {
    timer.shutdownNow();
  }

  /** One frame offered and written at once: the queue's own bookkeeping and its future. */
  @Benchmark
  public CompletableFuture<Void> offerWrittenAtOnce() {
    return immediate.offer(frame);
  }

  /** 64 frames queued behind a busy socket, then written in order: cost per frame. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int offerBacklogThenWrite() {
    for (int i = 0; i < BATCH; i++) {
      deferred.offer(frame);
    }
    Runnable written;
    while ((written = pendingWrites.poll()) != null) {
      written.run();
    }
    return deferred.unwritten();
  }

  /** A routed message to a live socket (frame built, queued, written) and the client's ack of it. */
  @Benchmark
  public boolean deliverAndAck() {
    RelayMessage m = messages[next];
    String ack = acks[next];
    next = (next + 1) % MESSAGES;
    CompletableFuture<SocketOutcome> outcome = connection.deliver(m, () -> { });
    endpoint.onWebSocketPartialText(ack, true);
    return outcome.isDone();
  }
}
