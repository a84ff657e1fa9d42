package dev.pushrelay.node.ws;

import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.delivery.Rerouter;
import java.time.Duration;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import java.time.Clock;
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
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private volatile CatchUp catchUp = CatchUp.NONE;

  public ConnectionLifecycle(String nodeId, ConnectionHub hub, RegistryStore registry, Rerouter rerouter,
      Clock clock, int outboundCapacity) {
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
    sessions.put(c.connectionId(), session);
    registry.addConnection(new ConnectionRecord(c.connectionId(), c.userId(), nodeId, clock.instant()))
        .whenComplete((v, error) -> {
          if (error != null) {
            LOG.warn("connection {} could not be registered: {}", c.connectionId(), error.toString());
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
          c.sendControl(ServerFrames.connectionEstablished(c.connectionId(), c.userId(), nodeId, clock.instant()));
          catchUp.run(c).whenComplete((done, failed) -> {
            if (failed != null) {
              // The socket stays: what the mailbox holds reaches it with the next retry instead.
              LOG.warn("mailbox catch-up of connection {} failed: {}", c.connectionId(), failed.toString());
            }
            c.goLive();
          });
        });
  }

  void text(LocalConnection c, String text) {
    try {
      ClientFrame frame = ClientFrame.parse(text);
      if (frame instanceof ClientFrame.Ping) {
        c.sendControl(ServerFrames.pong(clock.instant()));
      } else if (frame instanceof ClientFrame.Ack ack) {
        c.acked(ack.id());
      }
    } catch (ClientFrame.BadFrameException e) {
      c.sendControl(ServerFrames.error(e.code(), e.getMessage()));
    }
  }

  void binary(LocalConnection c) {
    c.sendControl(ServerFrames.error("binary_not_supported", "send JSON text frames"));
  }

  void closed(LocalConnection c, int statusCode) {
    release(c);
    sessions.remove(c.connectionId());
    hub.release();
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
