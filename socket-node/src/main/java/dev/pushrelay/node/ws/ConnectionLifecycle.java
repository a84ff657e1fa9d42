package dev.pushrelay.node.ws;

import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.delivery.Rerouter;
import java.time.Duration;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connect path of a socket: register in the registry and wait for the commit, send
 * {@code connection_established}, write the user's mailbox, then go live. Also answers client frames
 * and cleans up on close.
 */
public final class ConnectionLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLifecycle.class);
  /** Unacked messages written this recently before a close are routed again. */
  static final Duration UNACKED_WINDOW = Duration.ofSeconds(10);

  /** Writes the parked messages of a user to a socket that has just been established. */
  public interface CatchUp {
    CompletableFuture<Void> run(LocalConnection connection);

    CatchUp NONE = c -> CompletableFuture.completedFuture(null);
  }

  private final String nodeId;
  private final ConnectionHub hub;
  private final RegistryStore registry;
  private final Clock clock;
  private final int outboundCapacity;
  private final Rerouter rerouter;
  private final RelayMetrics metrics;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private volatile CatchUp catchUp = CatchUp.NONE;

  public ConnectionLifecycle(String nodeId, ConnectionHub hub, RegistryStore registry, Rerouter rerouter,
      Clock clock, int outboundCapacity) {
    this(nodeId, hub, registry, rerouter, clock, outboundCapacity, RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** {@code metrics} counts accepted and failed connections and times the connect path. */
  public ConnectionLifecycle(String nodeId, ConnectionHub hub, RegistryStore registry, Rerouter rerouter,
      Clock clock, int outboundCapacity, RelayMetrics metrics) {
    this.metrics = metrics;
    this.nodeId = nodeId;
    this.rerouter = rerouter;
    this.hub = hub;
    this.registry = registry;
    this.clock = clock;
    this.outboundCapacity = outboundCapacity;
  }

  public void setCatchUp(CatchUp catchUp) {
    this.catchUp = catchUp;
  }

  Clock clock() {
    return clock;
  }

  int outboundCapacity() {
    return outboundCapacity;
  }

  void opened(LocalConnection c, VerifiedToken token, Session session) {
    opened(c, token, session, clock.instant());
  }

  /** {@code handshakeStart}: when the upgrade request arrived, the start of {@code websocket.connection.time}. */
  void opened(LocalConnection c, VerifiedToken token, Session session, Instant handshakeStart) {
    sessions.put(c.connectionId(), session);
    registry.addConnection(new ConnectionRecord(c.connectionId(), c.userId(), nodeId, clock.instant()))
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
          LOG.info("connection {} open for user {}", c.connectionId(), c.userId());
          c.sendControl(ServerFrames.connectionEstablished(c.connectionId(), c.userId(), nodeId, clock.instant()))
              .thenRun(() -> {
                metrics.connectionAttempt(ConnectionOutcome.ACCEPTED);
                metrics.connectionTime(Duration.between(handshakeStart, clock.instant()));
              });
          catchUp.run(c).whenComplete((done, failed) -> {
            if (failed != null) {
              // The socket stays: what the mailbox holds reaches it with the next retry instead.
              LOG.warn("mailbox catch-up of connection {} failed: {}", c.connectionId(), failed.toString());
            }
            c.goLive();
          });
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
      }
    } catch (ClientFrame.BadFrameException e) {
      c.sendControl(ServerFrames.error(e.code(), e.getMessage()));
    }
    return false;
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
    sessions.remove(c.connectionId());
    LOG.info("connection {} closed for user {} with code {}", c.connectionId(), c.userId(), statusCode);
    unregister(c);
  }

  private void unregister(LocalConnection c) {
    hub.remove(c);
    registry.removeConnections(List.of(c.connectionId())).exceptionally(e -> {
      LOG.warn("connection {} could not be removed from the registry: {}", c.connectionId(), e.toString());
      return null;
    });
  }

  /** Marks the socket closed and routes again what it may not have handed to the app. */
  public void release(LocalConnection c) {
    for (RelayMessage m : c.closed(UNACKED_WINDOW)) {
      rerouter.redeliver(m, nodeId).exceptionally(e -> {
        LOG.warn("message {} written just before connection {} closed could not be re-routed: {}", m.id(),
            c.connectionId(), e.toString());
        return null;
      });
    }
  }

  /** Closes every socket with the given code; for the drain at shutdown. */
  public void closeAll(int code, String reason) {
    for (Session s : sessions.values()) {
      s.close(code, reason, Callback.NOOP);
    }
  }

  public int openSessions() {
    return sessions.size();
  }
}
