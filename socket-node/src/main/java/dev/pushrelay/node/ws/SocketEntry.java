package dev.pushrelay.node.ws;

import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.node.upstream.UpstreamLane;
import dev.pushrelay.pubsub.UpstreamMessages;
import dev.pushrelay.registry.ConnectionRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The socket as the rest of the relay knows it: its registry entry (written, listed for its user,
 * removed with retries) and its lane of upstream events ({@code connected}, its publishes,
 * {@code disconnected}). Touched on the socket's events only.
 */
final class SocketEntry {
  private static final Logger LOG = LoggerFactory.getLogger(SocketEntry.class);
  /** How long the count of the user's sockets may take: past it the socket is let be, as on a failure. */
  private static final Duration COUNT_DEADLINE = Duration.ofSeconds(1);

  private final Connection owner;
  private final NodeSockets node;
  private final SocketDeadlines deadlines;
  /** When the upgrade request arrived, for {@code websocket.connection.time}. */
  private final Instant handshakeStart;
  /** Set once open: who the backend hears of, since when. */
  private UpstreamMessages.Socket socket;
  private Instant connectedAt;
  private boolean registering;
  /** Listed for its user and announced upstream. */
  private boolean announced;
  private int removalAttempts;
  private UpstreamLane lane;

  SocketEntry(Connection owner, NodeSockets node, SocketDeadlines deadlines, Instant handshakeStart) {
    this.owner = owner;
    this.node = node;
    this.deadlines = deadlines;
    this.handshakeStart = handshakeStart;
  }

  /**
   * The socket opened at {@code at}: its registry entry is written, then, when the user holds another
   * socket on this node, the user's entries across the fleet are counted (one aggregation, one read).
   * Fails with {@link OverUserLimit} when they pass
   * {@link dev.pushrelay.node.config.SocketLimits#maxConnectionsPerUserFleet}; a count that fails lets the
   * socket be, since its entry is written and the per-node limit still holds. A user's only socket on a
   * node is not counted: that is every connect of a user with one tab, and a query each would be the
   * registry's heaviest load in a reconnect storm; so a user holds at most the limit plus one socket a node.
   */
  private CompletableFuture<Void> register(String userId, String connectionId, String nodeId, Instant at) {
    connectedAt = at;
    socket = new UpstreamMessages.Socket(userId, connectionId, nodeId);
    registering = true;
    int most = node.limits().maxConnectionsPerUserFleet();
    try {
      CompletableFuture<Void> added = node.registry().addConnection(
          new ConnectionRecord(connectionId, userId, nodeId, at));
      if (node.hub().heldBy(userId) < 2) {
        return added;
      }
      return added.thenCompose(v -> node.registry().countConnections(userId).orTimeout(COUNT_DEADLINE.toMillis(),
              java.util.concurrent.TimeUnit.MILLISECONDS).handle((n, failed) -> {
            if (failed != null) {
              LOG.info("connection {}: the user's sockets could not be counted, let be: {}", connectionId,
                  failed.toString());
              return null;
            }
            if (n > most) {
              throw new OverUserLimit(n);
            }
            return null;
          }));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Writes the registry entry once the node has a place among its registrations in flight
   * ({@link ConnectionHub#registrations}): the socket is open (its client got 101) and waits here while a
   * crowd registers. {@code registered} gets the write's outcome (null, or why it failed) as an event of the
   * socket, and the place goes back then. A socket that stopped registering before its turn writes nothing.
   */
  void registerInTurn(java.util.function.Consumer<Throwable> registered) {
    CallGate turns = node.hub().registrations();
    BooleanSupplier waiting = () -> owner.state() == Connection.State.REGISTERING;
    turns.enter(waiting, () -> owner.events().execute(() -> {
      if (!waiting.getAsBoolean()) {
        turns.leave();
        return;
      }
      String nodeId = node.identity().id(); // the incarnation serving when the write goes, not when the socket opened
      long sent = node.nanoTime();
      owner.answered(register(owner.userId(), owner.connectionId(), nodeId, node.clock().instant()), (v, failed) -> {
        long now = node.nanoTime();
        // the limit hears of this answer before the place is handed on
        node.hub().registrationAnswered(now - sent, failed != null && !overUserLimit(failed), now);
        turns.leave();
        registered.accept(failed);
      });
    }), false);
  }

  private static boolean overUserLimit(Throwable error) {
    return error instanceof OverUserLimit || error != null && error.getCause() instanceof OverUserLimit;
  }

  /** The user holds more sockets across the fleet than it may, this one included. */
  static final class OverUserLimit extends RuntimeException {
    OverUserLimit(long held) {
      super("the user holds " + held + " sockets across the fleet", null, false, false);
    }
  }

  /**
   * The registry write answered ({@code error}: why it failed). True when the socket may be listed: it
   * was written, the socket is still {@code registering} and its node's incarnation still serves.
   * Otherwise the socket is closed (the write failed; the incarnation lost its lease meanwhile, so the
   * client registers again), or, closed while registering, its entry goes (a write may have landed after
   * all: the delete is idempotent).
   */
  boolean registered(Throwable error, boolean stillRegistering, boolean socketClosed) {
    registering = false;
    if (!stillRegistering) {
      if (socketClosed) {
        remove();
      }
      return false;
    }
    if (overUserLimit(error)) {
      node.metrics().connectionAttempt(ConnectionOutcome.USER_LIMIT);
      owner.closeTransport(SocketClose.TOO_MANY_SOCKETS); // its entry goes when the close comes back
      return false;
    }
    if (error != null) {
      LOG.warn("connection {} could not be registered: {}", owner.connectionId(), error.toString());
      node.metrics().connectionAttempt(ConnectionOutcome.REGISTRY_FAILED);
      owner.closeTransport(SocketClose.REGISTRY_UNAVAILABLE);
      return false;
    }
    if (!node.identity().serves(socket.nodeId())) {
      owner.closeTransport(SocketClose.LEASE_LOST);
      return false;
    }
    return true;
  }

  boolean registering() {
    return registering;
  }

  /** Listed for its user; its {@code connected} event goes on the lane next. */
  void announced() {
    announced = true;
  }

  boolean isAnnounced() {
    return announced;
  }

  /**
   * The socket closed ({@code opened}: it had opened): its {@code disconnected} event, then its registry
   * entry; or whatever of the two it got to. Then the node forgets the socket.
   */
  void closed(int statusCode, boolean opened) {
    if (registering) {
      return; // the registry's answer finishes it
    }
    if (announced) {
      node.upstream().disconnected(lane(), socket, connectedAt, statusCode)
          .whenComplete((v, failed) -> owner.events().execute(() -> {
            if (failed == null) {
              remove();
            } else {
              // given up, or the node stopped first: the entry stays, and the cleanup of this node reports
              // the socket as node_lost
              owner.finish();
            }
          }));
    } else if (opened && socket != null) {
      remove(); // registered, or its write timed out and may have landed after all
    } else {
      if (opened) {
        // closed while it waited for its turn to register: counted as a handshake the node had no room for
        node.metrics().connectionAttempt(ConnectionOutcome.OVER_CAPACITY);
      }
      owner.finish();
    }
  }

  /** Removes the registry entry, trying again ({@link SocketDeadlines.Name#REMOVE}) while the registry does not answer. */
  void remove() {
    String connectionId = owner.connectionId();
    owner.answered(node.registry().removeConnections(List.of(connectionId)), (v, failed) -> {
      List<Duration> retries = node.timings().removalRetries();
      if (failed == null) {
        owner.finish();
      } else if (removalAttempts < retries.size()) {
        deadlines.set(SocketDeadlines.Name.REMOVE, node.nanoTime() + retries.get(removalAttempts++).toNanos());
        owner.reschedule();
      } else {
        LOG.warn("connection {} could not be removed from the registry: {}", connectionId, failed.toString());
        owner.finish();
      }
    });
  }

  UpstreamMessages.Socket socket() {
    return socket;
  }

  Instant connectedAt() {
    return connectedAt;
  }

  Instant handshakeStart() {
    return handshakeStart;
  }

  /** The socket's upstream lane, made at its first use. */
  UpstreamLane lane() {
    if (lane == null) {
      lane = new UpstreamLane();
    }
    return lane;
  }
}
