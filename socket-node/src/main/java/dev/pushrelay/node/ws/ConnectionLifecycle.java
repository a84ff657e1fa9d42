package dev.pushrelay.node.ws;

import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.upstream.Upstream;
import dev.pushrelay.node.upstream.UpstreamAnswer;
import dev.pushrelay.pubsub.UpstreamMessages;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connect path of a socket: register in the registry and wait for the commit, send
 * {@code connection_established}, write the user's mailbox, settle for {@link #SECOND_LOOK} and look
 * at the mailbox again, then go live. Also answers client frames (a {@code publish} goes upstream,
 * see {@link Upstream}), publishes the socket's {@code connected} event after
 * {@code connection_established} and its {@code disconnected} event at the close, and cleans up: the
 * registry entry goes only once the {@code disconnected} event is published, so that a node that dies
 * first leaves the entry for the cleanup, which reports the socket as {@code node_lost}. A catch-up that fails is tried again while the socket is open; one that
 * still fails closes the socket with 1011, so that the client reconnects and its next socket catches
 * up, rather than leave parked messages waiting for a retry while the user is connected.
 */
public final class ConnectionLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLifecycle.class);
  /** Unacked messages written this recently before a close are routed again. */
  public static final Duration UNACKED_WINDOW = Duration.ofSeconds(10);
  /** Every Firestore call on the connect path gives up after this long. */
  static final Duration REGISTRY_DEADLINE = Duration.ofSeconds(5);
  /** Pauses between catch-up attempts; after the last one fails the socket is closed with 1011. */
  static final List<Duration> CATCH_UP_RETRIES = List.of(Duration.ofMillis(200), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofSeconds(2));
  /**
   * The settling window: a socket looks at its mailbox once more this long after its catch-up, and
   * only then goes live. A message parked just after the catch-up's read (its route looked at the
   * registry before the socket was in it) is normally routed live by the route function's look after
   * parking, or else found by this second look; either way it is held with the live messages that came
   * meanwhile, and all are written in accept order, so no live message overtakes an older parked one.
   * Live messages in a socket's first second wait for it; one more mailbox read per connection.
   */
  static final Duration SECOND_LOOK = Duration.ofSeconds(1);
  /**
   * A live socket looks once more this long after its catch-up: a message parked while the registry did
   * not list the socket yet (a Firestore outage that just ended, its node's lease not yet renewed) is
   * written now rather than at a retry that may not come soon. One more read per connection, of pending
   * and claimed entries only.
   */
  static final Duration LATE_LOOK = Duration.ofSeconds(5);
  /** Pauses between attempts to remove a closed socket's registry entry. */
  static final List<Duration> REMOVAL_RETRIES = List.of(Duration.ofSeconds(1), Duration.ofSeconds(3),
      Duration.ofSeconds(10), Duration.ofSeconds(30));
  /** A user's stale registry entries on this node are looked for at most this often. */
  static final Duration REPAIR_EVERY = Duration.ofSeconds(5);

  /** Writes the parked messages of a user to a socket that has just been established. */
  public interface CatchUp {
    /**
     * Completes once every parked message is handed to the socket (written, or held while settling);
     * the socket writes them in that order, ahead of what it is handed later.
     */
    CompletableFuture<Void> run(LocalConnection connection);
  }

  private final NodeIdentity identity;
  private final ConnectionHub hub;
  private final RegistryStore registry;
  private final Clock clock;
  private final int outboundCapacity;
  private final CatchUp catchUp;
  private final ScheduledExecutorService timers;
  private final RelayMetrics metrics;
  private final Upstream upstream;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  /** Sockets that were sent {@code connection_established} (their {@code connected} event went out). */
  private final Map<String, Established> established = new ConcurrentHashMap<>();
  /** Closed sockets whose {@code disconnected} event is not published yet: their registry entry stays. */
  private final java.util.Set<String> closing = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> repaired = new ConcurrentHashMap<>();

  /** An established socket as the backend hears of it: who, where, since when. */
  private record Established(UpstreamMessages.Socket socket, Instant connectedAt) {}

  /**
   * {@code metrics} counts accepted and failed connections and times the connect path; {@code timers}
   * runs the catch-up's retries; {@code upstream} takes the client's publishes and the socket's events.
   */
  public ConnectionLifecycle(NodeIdentity identity, ConnectionHub hub, RegistryStore registry, CatchUp catchUp,
      Clock clock, int outboundCapacity, ScheduledExecutorService timers, RelayMetrics metrics, Upstream upstream) {
    this.identity = identity;
    this.upstream = upstream;
    this.hub = hub;
    this.registry = registry;
    this.catchUp = catchUp;
    this.clock = clock;
    this.outboundCapacity = outboundCapacity;
    this.timers = timers;
    this.metrics = metrics;
  }

  Clock clock() {
    return clock;
  }

  int outboundCapacity() {
    return outboundCapacity;
  }

  /** {@code handshakeStart}: when the upgrade request arrived, the start of {@code websocket.connection.time}. */
  void opened(LocalConnection c, VerifiedToken token, Session session, Instant handshakeStart) {
    sessions.put(c.connectionId(), session);
    String nodeId = identity.id();
    Instant connectedAt = clock.instant();
    registry.addConnection(new ConnectionRecord(c.connectionId(), c.userId(), nodeId, connectedAt))
        .orTimeout(REGISTRY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((v, error) -> {
          if (error != null) {
            LOG.warn("connection {} could not be registered: {}", c.connectionId(), error.toString());
            metrics.connectionAttempt(ConnectionOutcome.REGISTRY_FAILED);
            session.close(StatusCode.SERVER_ERROR, "registry unavailable", Callback.NOOP);
            return;
          }
          hub.add(c);
          if (c.isClosed() || !session.isOpen()) {
            // closed while registering: the close handler may have run before the socket was listed
            unregister(c);
            return;
          }
          if (!identity.serves(nodeId)) {
            // registered under an incarnation that lost its lease meanwhile: the client registers again
            session.close(StatusCode.SERVICE_RESTART, "node lost its lease, reconnect", Callback.NOOP);
            return;
          }
          LOG.info("connection {} open for user {}", c.connectionId(), c.userId());
          // listed before the client hears of it, so that its first publish finds it established
          established(c, new Established(new UpstreamMessages.Socket(c.userId(), c.connectionId(), nodeId),
              connectedAt));
          c.sendControl(ServerFrames.connectionEstablished(c.connectionId(), c.userId(), nodeId, clock.instant()))
              .thenRun(() -> {
                metrics.connectionAttempt(ConnectionOutcome.ACCEPTED);
                metrics.connectionTime(Duration.between(handshakeStart, clock.instant()));
              });
          catchUp(c, session, 0);
        });
  }

  /**
   * Publishes the socket's {@code connected} event. A close that ran meanwhile may have missed the
   * entry: whichever of the two removes it publishes the {@code disconnected} event.
   */
  private void established(LocalConnection c, Established e) {
    // on the lane first, then listed: a publish that finds the socket established goes after connected
    upstream.connected(c.upstream(), e.socket(), e.connectedAt());
    established.put(c.connectionId(), e);
    if (c.isClosed() && established.remove(c.connectionId(), e)) {
      disconnected(c, e, StatusCode.NORMAL);
    }
  }

  private void catchUp(LocalConnection c, Session session, int attempt) {
    catchUp.run(c).orTimeout(REGISTRY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS).whenComplete((done, failed) -> {
      if (failed == null) {
        c.settle();
        timers.schedule(() -> secondLook(c, session), SECOND_LOOK.toMillis(), TimeUnit.MILLISECONDS);
        return;
      }
      if (c.isClosed() || !session.isOpen()) {
        return;
      }
      if (attempt >= CATCH_UP_RETRIES.size()) {
        LOG.warn("mailbox catch-up of connection {} failed {} times, closing it so the client reconnects: {}",
            c.connectionId(), attempt + 1, failed.toString());
        session.close(StatusCode.SERVER_ERROR, "mailbox unavailable, reconnect", Callback.NOOP);
        return;
      }
      LOG.info("mailbox catch-up of connection {} failed, trying again: {}", c.connectionId(), failed.toString());
      timers.schedule(() -> catchUp(c, session, attempt + 1), CATCH_UP_RETRIES.get(attempt).toMillis(),
          TimeUnit.MILLISECONDS);
    });
  }

  private void secondLook(LocalConnection c, Session session) {
    look(c, session, "second", () -> {
      c.goLive();
      timers.schedule(() -> look(c, session, "late", () -> { }), LATE_LOOK.minus(SECOND_LOOK).toMillis(),
          TimeUnit.MILLISECONDS);
    });
  }

  /**
   * One more mailbox look of an open socket, then {@code after}, whether the look succeeded or not (the
   * route function's retries still hold whatever a failed look would have found).
   */
  private void look(LocalConnection c, Session session, String which, Runnable after) {
    if (c.isClosed() || !session.isOpen()) {
      return;
    }
    catchUp.run(c).orTimeout(REGISTRY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS).whenComplete((done, failed) -> {
      if (failed != null) {
        LOG.info("{} mailbox look of connection {} failed: {}", which, c.connectionId(), failed.toString());
      }
      after.run();
    });
  }

  /**
   * Answers a client frame; unknown or malformed ones get an {@code error} frame. Returns true for an
   * ack of a message this socket was written and had not acked yet: a frame the client owed, which
   * costs it nothing against the inbound rate limit.
   */
  boolean text(LocalConnection c, String text) {
    try {
      ClientFrame frame = ClientFrame.parse(text);
      if (frame instanceof ClientFrame.Ping) {
        c.sendControl(ServerFrames.pong(clock.instant()));
      } else if (frame instanceof ClientFrame.Ack ack) {
        return c.acked(ack.id());
      } else if (frame instanceof ClientFrame.Publish publish) {
        publish(c, publish);
      }
    } catch (ClientFrame.BadFrameException e) {
      refuse(c, text, e.code(), e.getMessage(), true);
    }
    return false;
  }

  /** Sends a client's publish upstream and answers it once Pub/Sub has taken it (or could not). */
  private void publish(LocalConnection c, ClientFrame.Publish frame) {
    Established e = established.get(c.connectionId());
    if (e == null) {
      metrics.upstreamRefused("unavailable");
      c.sendControl(UpstreamAnswer.refused("unavailable", "wait for connection_established, then send it again")
          .frame(frame.id()));
      return;
    }
    upstream.publish(c.upstream(), e.socket(), frame).thenAccept(answer -> c.sendControl(answer.frame(frame.id())));
  }

  /**
   * A client frame refused before it was handled ({@code code}: bad_frame, rate_limited, too_large): a
   * publish is answered with its id, so that its sender knows it may send it again; any other frame gets
   * the error frame only when {@code warn}.
   */
  void refuse(LocalConnection c, String text, String code, String message, boolean warn) {
    java.util.Optional<String> id = text.contains("\"publish\"") ? ClientFrame.publishIdOf(text)
        : java.util.Optional.empty();
    if (id.isPresent()) {
      metrics.upstreamRefused(code);
      c.sendControl(ServerFrames.error(code, id.get(), message));
    } else if (warn) {
      c.sendControl(ServerFrames.error(code, message));
    }
  }

  /** Binary frames are not part of the protocol: closed with 1003 (unsupported data), as RFC 6455 says. */
  void binary(LocalConnection c) {
    Session s = sessions.get(c.connectionId());
    if (s != null) {
      s.close(StatusCode.BAD_DATA, "binary frames are not supported; send JSON text frames", Callback.NOOP);
    }
  }

  void closed(LocalConnection c, int statusCode) {
    release(c);
    closing.add(c.connectionId()); // before it leaves sessions: the stale-entry repair never sees it unheld
    sessions.remove(c.connectionId());
    LOG.info("connection {} closed for user {} with code {}", c.connectionId(), c.userId(), statusCode);
    hub.remove(c);
    Established e = established.remove(c.connectionId());
    if (e == null) {
      closing.remove(c.connectionId());
      unregister(c.connectionId(), 0);
    } else {
      disconnected(c, e, statusCode);
    }
  }

  /** Publishes the {@code disconnected} event, and only then removes the registry entry. */
  private void disconnected(LocalConnection c, Established e, int statusCode) {
    String connectionId = c.connectionId();
    closing.add(connectionId);
    upstream.disconnected(c.upstream(), e.socket(), e.connectedAt(), statusCode).whenComplete((v, failed) -> {
      closing.remove(connectionId);
      if (failed == null) {
        unregister(connectionId, 0);
      }
      // else (given up, or the node stopped first): the entry stays, and the cleanup of this node reports
      // the socket as node_lost
    });
  }

  private void unregister(LocalConnection c) {
    hub.remove(c);
    unregister(c.connectionId(), 0);
  }

  /** Removes the connection from the registry, trying again while the registry does not answer. */
  private void unregister(String connectionId, int attempt) {
    registry.removeConnections(List.of(connectionId))
        .orTimeout(REGISTRY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> {
          if (attempt < REMOVAL_RETRIES.size()) {
            timers.schedule(() -> unregister(connectionId, attempt + 1), REMOVAL_RETRIES.get(attempt).toMillis(),
                TimeUnit.MILLISECONDS);
          } else {
            LOG.warn("connection {} could not be removed from the registry: {}", connectionId, e.toString());
          }
          return null;
        });
  }

  /**
   * A delivery found no socket of {@code userId} here: whatever the registry still lists for the user
   * under this node, beyond the sockets open or registering now, is stale and goes, so routes stop
   * sending the user's messages here. At most once per user per {@link #REPAIR_EVERY}.
   */
  public void noSocketFor(String userId) {
    long now = System.nanoTime();
    Long last = repaired.get(userId);
    if (last != null && now - last < REPAIR_EVERY.toNanos()) {
      return;
    }
    repaired.put(userId, now);
    if (repaired.size() > 10_000) {
      repaired.clear();
    }
    // asked when the registry has answered: a socket is in sessions before its registry write, so one
    // that registered while the query ran is never taken for stale
    registry.removeStaleConnections(userId, identity.id(), id -> sessions.containsKey(id) || closing.contains(id))
        .orTimeout(REGISTRY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> {
          LOG.info("stale registry entries of user {} could not be removed: {}", userId, e.toString());
          return null;
        });
  }

  /** Marks the socket closed: what it may not have handed to the app settles as not delivered. */
  public void release(LocalConnection c) {
    c.closed(UNACKED_WINDOW);
  }

  /** Settles what every socket's client has left unacked for the whole window; run once a second. */
  public void expireUnacked() {
    for (LocalConnection c : hub.all()) {
      c.expireUnacked(UNACKED_WINDOW);
    }
  }

  /** Closes every socket with the given code; for the drain at shutdown and for fencing. */
  public void closeAll(int code, String reason) {
    for (Session s : sessions.values()) {
      s.close(code, reason, Callback.NOOP);
    }
  }

  public int openSessions() {
    return sessions.size();
  }

  /** Waits until every socket's close has been handled here, or the deadline; true if all were. */
  public boolean awaitClosed(Instant deadline) {
    while (!sessions.isEmpty()) {
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
}
