package dev.pushrelay.node.ws;

import dev.pushrelay.model.Limits;
import dev.pushrelay.node.auth.VerifiedToken;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty endpoint of one socket; it hands every event to the {@link ConnectionLifecycle} and holds
 * the socket to its {@link SocketPolicy}: the reservation made at the handshake, the inbound rate
 * limit, the close at token expiry (1008), the close of a slow consumer (1013), and liveness.
 */
public final class RelayEndpoint implements Session.Listener.AutoDemanding {
  private static final Logger LOG = LoggerFactory.getLogger(RelayEndpoint.class);
  /** A slow consumer gets this long to read up to the 1013 close frame, then it is disconnected. */
  static final Duration SLOW_CONSUMER_GRACE = Duration.ofSeconds(2);

  private final ConnectionLifecycle lifecycle;
  private final VerifiedToken token;
  private final String connectionId;
  private final Instant handshakeStart;
  private final Reservation reservation;
  private final SocketPolicy policy;
  private final InboundRateLimit rateLimit;
  private final SocketLiveness.Peer peer = new SocketLiveness.Peer() {
    @Override
    public long lastHeardNanos() {
      return lastHeard;
    }

    @Override
    public void ping() {
      Session s = session;
      if (s != null && s.isOpen()) {
        s.sendPing(ByteBuffer.allocate(0), Callback.NOOP);
      }
    }

    @Override
    public void drop() {
      Session s = session;
      if (s != null) {
        LOG.info("connection {} of user {} answered no ping: dropped", connectionId, token.userId());
        s.disconnect();
      }
    }
  };
  private volatile LocalConnection connection;
  private volatile Session session;
  private volatile long lastHeard = System.nanoTime();
  private volatile ScheduledFuture<?> openDeadline;
  private volatile ScheduledFuture<?> expiry;
  private volatile boolean closingForAbuse;

  /** {@code handshakeStart}: when the upgrade request arrived, for {@code websocket.connection.time}. */
  public RelayEndpoint(ConnectionLifecycle lifecycle, VerifiedToken token, String connectionId, Instant handshakeStart,
      Reservation reservation, SocketPolicy policy) {
    this.lifecycle = lifecycle;
    this.token = token;
    this.connectionId = connectionId;
    this.handshakeStart = handshakeStart;
    this.reservation = reservation;
    this.policy = policy;
    this.rateLimit = new InboundRateLimit(policy.limits().inboundFramesPerSecond(),
        policy.limits().inboundFrameBurst(), System.nanoTime());
  }

  /** Gives the reservation back if the socket has not opened by the deadline (the upgrade never completed). */
  void armOpenDeadline() {
    openDeadline = policy.scheduler().schedule(() -> {
      if (reservation.expireIfPending()) {
        LOG.info("connection {} of user {} never opened: reservation released", connectionId, token.userId());
      }
    }, policy.limits().openDeadline().toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void onWebSocketOpen(Session session) {
    this.session = session;
    cancel(openDeadline);
    if (!reservation.open()) {
      session.close(StatusCode.TRY_AGAIN_LATER, "handshake took too long, connect again", Callback.NOOP);
      return;
    }
    lastHeard = System.nanoTime();
    OutboundQueue queue = new OutboundQueue((text, written, failed) ->
        session.sendText(text, Callback.from(written, failed)), policy.limits().outboundFrames(),
        policy.limits().outboundChars(), () -> policy.scheduler().execute(this::closeSlowConsumer));
    connection = new LocalConnection(connectionId, token.userId(), queue, lifecycle.clock());
    policy.liveness().add(peer);
    long untilExpiry = Math.max(0, Duration.between(lifecycle.clock().instant(), token.expiresAt()).toMillis());
    expiry = policy.scheduler().schedule(() -> {
      LOG.info("connection {} of user {}: token expired", connectionId, token.userId());
      session.close(StatusCode.POLICY_VIOLATION, "token expired", Callback.NOOP);
    }, untilExpiry, TimeUnit.MILLISECONDS);
    lifecycle.opened(connection, token, session, handshakeStart);
  }

  @Override
  public void onWebSocketText(String text) {
    LocalConnection c = connection;
    if (c == null) {
      return;
    }
    InboundRateLimit.Verdict verdict = admit();
    switch (verdict) {
      case ADMIT -> {
        if (utf8Length(text) > Limits.MAX_CLIENT_FRAME_BYTES) {
          lifecycle.refuse(c, text, "too_large", "frame over 16 KiB: not taken", true);
        } else if (lifecycle.text(c, text)) {
          rateLimit.refund();
        }
      }
      case REFUSE_AND_WARN, REFUSE -> lifecycle.refuse(c, text, "rate_limited", "too many frames, slow down",
          verdict == InboundRateLimit.Verdict.REFUSE_AND_WARN);
      default -> { }
    }
  }

  /** The frame's size in UTF-8 without encoding it; counted only when it could be over the limit. */
  static int utf8Length(String text) {
    if (text.length() * 3L <= Limits.MAX_CLIENT_FRAME_BYTES) {
      return text.length();
    }
    int bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (ch < 0x80) {
        bytes += 1;
      } else if (ch < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(ch)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  @Override
  public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
    callback.succeed();
    LocalConnection c = connection;
    if (c != null) {
      lastHeard = System.nanoTime();
      lifecycle.binary(c);
    }
  }

  /** Overridden so that pings count against the rate limit; an admitted ping is answered here. */
  @Override
  public void onWebSocketPing(ByteBuffer payload) {
    Session s = session;
    if (s != null && admit() == InboundRateLimit.Verdict.ADMIT) {
      s.sendPong(payload, Callback.NOOP);
    }
  }

  @Override
  public void onWebSocketPong(ByteBuffer payload) {
    lastHeard = System.nanoTime();
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason) {
    reservation.release();
    cancel(openDeadline);
    cancel(expiry);
    policy.liveness().remove(peer);
    LocalConnection c = connection;
    if (c != null) {
      lifecycle.closed(c, statusCode);
    }
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // the close that follows every error does the cleanup
  }

  Session session() {
    return session;
  }

  private InboundRateLimit.Verdict admit() {
    long now = System.nanoTime();
    lastHeard = now;
    InboundRateLimit.Verdict verdict = rateLimit.admit(now);
    if (verdict == InboundRateLimit.Verdict.CLOSE && !closingForAbuse) {
      closingForAbuse = true;
      Session s = session;
      LOG.info("connection {} of user {} kept sending over its rate limit: closed", connectionId, token.userId());
      if (s != null) {
        s.close(StatusCode.POLICY_VIOLATION, "rate limit exceeded", Callback.NOOP);
      }
    }
    return verdict;
  }

  private void closeSlowConsumer() {
    Session s = session;
    if (s == null) {
      return;
    }
    LOG.info("connection {} of user {} does not keep up with its messages: closed", connectionId, token.userId());
    s.close(StatusCode.TRY_AGAIN_LATER, "too slow, outbound queue full", Callback.NOOP);
    // a consumer that reads nothing never takes the close frame: free what it pins, re-route what it missed
    policy.scheduler().schedule(s::disconnect, SLOW_CONSUMER_GRACE.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static void cancel(ScheduledFuture<?> task) {
    if (task != null) {
      task.cancel(false);
    }
  }
}
