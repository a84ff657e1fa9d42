package dev.pushrelay.node.ws;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.MailboxCursor;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of every socket: what each {@link Connection} uses (the node's identity, the
 * registry, the mailbox catch-up, upstream, limits, timings, clocks, metrics), and what the node does to
 * all of them at once: the one timer that looks at every socket's deadlines each
 * {@link SocketTimings#tick}, closing them all (drain, fencing), and the stale-entry repair.
 */
public final class NodeSockets {
  private static final Logger LOG = LoggerFactory.getLogger(NodeSockets.class);
  /** How long a drain waits, once the sockets are closed, for the catch-ups' last writes. */
  private static final Duration FLUSH_DEADLINE = Duration.ofSeconds(2);

  /** Writes the parked messages of a user to a socket that has just been established. */
  public interface CatchUp {
    /**
     * Claims the user's parked messages for the socket: every waiting one at its catch-up, only what is
     * still waiting once it {@code caughtUp}. The socket writes what the look found in one event, ahead
     * of what it is handed later, and settles each entry with its write's outcome.
     */
    CompletableFuture<MailboxLook> look(String userId, String connectionId, boolean caughtUp);

    /**
     * The next page of a catch-up whose last look stopped at its bound ({@link MailboxLook#next}): what
     * waits after {@code after}. A catch-up whose looks never say {@code next} is never asked.
     */
    default CompletableFuture<MailboxLook> next(String userId, String connectionId, MailboxCursor after) {
      return CompletableFuture.failedFuture(new UnsupportedOperationException("this catch-up has no pages"));
    }

    /** Sends what the catch-up holds back to send together (delivered marks); done once it is sent. */
    default CompletableFuture<Void> flush() {
      return CompletableFuture.completedFuture(null);
    }
  }

  /** What the sockets are built from; {@code nanoTime} is the node's monotonic clock. */
  public record Parts(NodeIdentity identity, ConnectionHub hub, RegistryStore registry, CatchUp catchUp,
      Upstream upstream, RelayMetrics metrics, SocketLimits limits, SocketTimings timings, Clock clock,
      LongSupplier nanoTime, TokenRenewal renewal) {}

  private final Parts parts;
  private final ScheduledExecutorService timers;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<String, Long> repaired = new ConcurrentHashMap<>();
  private volatile ScheduledFuture<?> ticking;

  /** {@code timers}: the thread the one timer runs on. */
  public NodeSockets(Parts parts, ScheduledExecutorService timers) {
    this.parts = parts;
    this.timers = timers;
  }

  /** Starts the one timer. */
  public void start() {
    long every = parts.timings().tick().toMillis();
    ticking = timers.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
  }

  /** A socket whose upgrade was accepted, holding the room {@code hub.reserve} gave it. */
  public JettySocket accept(VerifiedToken token, Instant handshakeStart) {
    return accept(token, handshakeStart, UUID.randomUUID().toString());
  }

  JettySocket accept(VerifiedToken token, Instant handshakeStart, String connectionId) {
    Connection c = new Connection(this, token, connectionId, handshakeStart);
    return new JettySocket(c, parts.nanoTime(),
        new InboundRateLimit(limits().inboundFramesPerSecond(), limits().inboundFrameBurst(), nanoTime()));
  }

  /**
   * Looks at every socket's deadlines; each whose time has come gets an event. Past the node's memory
   * budget, sheds the socket that holds the most ({@link ConnectionHub#shedIfOver}).
   */
  void tick() {
    long now = nanoTime();
    for (Connection c : parts.hub().tracked()) {
      c.tick(now);
    }
    NodeMemory memory = parts.hub().memory();
    long used = memory.used();
    Duration grace = timings().slowConsumerGrace().plus(timings().tick());
    parts.hub().shedIfOver(now, grace).ifPresent(c -> LOG.warn("node memory budget passed ({} of {} bytes held by "
        + "the sockets' queues): shedding connection {}", used, memory.budget(), c.connectionId()));
  }

  /**
   * A delivery found no socket of {@code userId} here: whatever the registry still lists for the user
   * under this node, beyond the sockets this node still has (open, registering, or closing with an event
   * to publish), is stale and goes, so routes stop sending the user's messages here. At most once per
   * user per {@link SocketTimings#repairEvery}.
   */
  public void noSocketFor(String userId) {
    long now = nanoTime();
    Long last = repaired.get(userId);
    if (last != null && now - last < timings().repairEvery().toNanos()) {
      return;
    }
    repaired.put(userId, now);
    if (repaired.size() > 10_000) {
      repaired.clear();
    }
    // asked when the registry has answered: a socket is tracked before its registry write, so one that
    // registered while the query ran is never taken for stale
    registry().removeStaleConnections(userId, identity().id(), hub()::holds)
        .orTimeout(timings().registryDeadline().toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> {
          LOG.info("stale registry entries of user {} could not be removed: {}", Pseudonyms.user(userId), e.toString());
          return null;
        });
  }

  /**
   * Closes every socket with {@code close}; what each held goes back to whoever handed it over at once.
   * For the drain at shutdown and for fencing.
   */
  public void closeAll(SocketClose close) {
    for (Connection c : parts.hub().tracked()) {
      c.close(close);
    }
  }

  /** Sockets opened and not closed yet. */
  public int openSockets() {
    return open.get();
  }

  /** Waits until every open socket's close has been handled, or the deadline; true if all were. */
  public boolean awaitClosed(Instant deadline) {
    while (open.get() > 0) {
      if (!Instant.now().isBefore(deadline)) {
        return false;
      }
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /** Stops the timer. */
  public void stop() {
    ScheduledFuture<?> t = ticking;
    if (t != null) {
      t.cancel(false);
    }
    try {
      parts.catchUp().flush().get(FLUSH_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("the catch-ups' last delivered marks were not all written; their claims run out: {}", e.toString());
    }
  }

  void opened() {
    open.incrementAndGet();
  }

  void closed() {
    open.decrementAndGet();
  }

  long nanoTime() {
    return parts.nanoTime().getAsLong();
  }

  NodeIdentity identity() {
    return parts.identity();
  }

  public ConnectionHub hub() {
    return parts.hub();
  }

  RegistryStore registry() {
    return parts.registry();
  }

  CatchUp catchUp() {
    return parts.catchUp();
  }

  Upstream upstream() {
    return parts.upstream();
  }

  RelayMetrics metrics() {
    return parts.metrics();
  }

  public SocketLimits limits() {
    return parts.limits();
  }

  SocketTimings timings() {
    return parts.timings();
  }

  Clock clock() {
    return parts.clock();
  }

  TokenRenewal renewal() {
    return parts.renewal();
  }
}
