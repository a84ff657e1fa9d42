package dev.pushrelay.node.ws;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.model.Limits;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty side of one socket. Jetty's callbacks run here, on Jetty's threads: text fragments are put
 * together and counted against the inbound rate limit as they arrive, pings answered, pongs matched
 * with the node's pings; every whole message, the open and the close go to the {@link Connection} as
 * its events. The connection writes, pings and closes through this as its {@link SocketTransport}.
 */
public final class JettySocket implements Session.Listener.AutoDemanding, SocketTransport {
  private static final Logger LOG = LoggerFactory.getLogger(JettySocket.class);
  /** The largest client message read at all; a longer one is closed with 1009. */
  public static final int MAX_MESSAGE_BYTES = 64 * 1024;

  private final Connection connection;
  private final LongSupplier nanoTime;
  private final InboundRateLimit rateLimit;
  /** The text message arriving in fragments; one frame at a time. */
  private final TextAssembly assembly = new TextAssembly(MAX_MESSAGE_BYTES);
  /** Pongs the node's pings asked for and the client has not sent yet: those are free. */
  private final AtomicInteger pongsOwed = new AtomicInteger();
  private volatile Session session;
  /** When the client was last heard from (any frame, pong included). */
  private volatile long lastHeard;
  private volatile boolean binaryRefused;
  private volatile boolean closingForAbuse;

  JettySocket(Connection connection, LongSupplier nanoTime, InboundRateLimit rateLimit) {
    this.connection = connection;
    this.nanoTime = nanoTime;
    this.rateLimit = rateLimit;
    this.lastHeard = nanoTime.getAsLong();
  }

  /** The socket's logic. */
  public Connection connection() {
    return connection;
  }

  @Override
  public void onWebSocketOpen(Session session) {
    UpgradeRelease.release(session); // the HTTP/1 upgrade Jetty would keep for the socket's life: ~5 KB
    this.session = session;
    lastHeard = nanoTime.getAsLong();
    connection.events().execute(() -> connection.open(this));
  }

  /**
   * Every text frame is an event of the connection, counted against the rate limit there, in arrival
   * order: an ack of a message this socket was written gives its token back before the next frame is
   * counted, however busy the socket's events are when the acks come. Each fragment counts, by its size,
   * when it comes; the message (and its last fragment) when it is whole. A message over 64 KiB in all is
   * closed with 1009, as a frame over that is by Jetty.
   */
  @Override
  public void onWebSocketPartialText(String fragment, boolean last) {
    long at = nanoTime.getAsLong();
    lastHeard = at;
    int bytes = utf8Length(fragment);
    Optional<String> whole;
    try {
      whole = assembly.add(fragment, bytes, last);
    } catch (TextAssembly.TooBigException e) {
      connection.close(SocketClose.TOO_LARGE);
      return;
    }
    int cost = InboundRateLimit.cost(bytes);
    connection.events().execute(() -> {
      SocketFrames frames = connection.frames(); // none when the node closed the socket before it opened
      if (frames != null && whole.isPresent()) {
        frames.received(whole.get(), at, cost);
      } else if (frames != null) {
        frames.fragment(at, cost);
      }
    });
  }

  /** Binary frames are not part of the protocol: closed with 1003, as RFC 6455 says, at the first fragment. */
  @Override
  public void onWebSocketPartialBinary(ByteBuffer payload, boolean last, Callback callback) {
    callback.succeed();
    lastHeard = nanoTime.getAsLong();
    if (!binaryRefused) {
      binaryRefused = true;
      connection.close(SocketClose.BINARY);
    }
  }

  /** Overridden so that pings count against the rate limit; an admitted ping is answered here. */
  @Override
  public void onWebSocketPing(ByteBuffer payload) {
    Session s = session;
    long at = nanoTime.getAsLong();
    lastHeard = at;
    if (s != null && admit(at, 1) == InboundRateLimit.Verdict.ADMIT) {
      s.sendPong(payload, Callback.NOOP);
    }
  }

  /** A pong answers one of the node's pings for free; one that answers none counts as any frame. */
  @Override
  public void onWebSocketPong(ByteBuffer payload) {
    long at = nanoTime.getAsLong();
    lastHeard = at;
    if (pongsOwed.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
      admit(at, 1);
    }
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason) {
    connection.events().execute(() -> connection.closedBySocket(statusCode));
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // the close that follows every error does the cleanup
  }

  @Override
  public void sendText(String text, Runnable written, Consumer<Throwable> failed) {
    session.sendText(text, Callback.from(written, failed));
  }

  @Override
  public boolean ping(long now, long deadAfterNanos) {
    Session s = session;
    if (now - lastHeard > deadAfterNanos) {
      s.disconnect();
      return false;
    }
    pongsOwed.updateAndGet(n -> Math.min(n + 1, dev.pushrelay.node.config.SocketLimits.MISSED_PINGS));
    s.sendPing(ByteBuffer.allocate(0), Callback.NOOP);
    return true;
  }

  @Override
  public void close(SocketClose close) {
    Session s = session;
    if (s != null) {
      s.close(close.code(), close.reason(), Callback.NOOP);
    }
  }

  @Override
  public void disconnect() {
    Session s = session;
    if (s != null) {
      s.disconnect();
    }
  }

  @Override
  public InboundRateLimit.Verdict admit(long at, int cost) {
    InboundRateLimit.Verdict verdict = rateLimit.admit(at, cost);
    if (verdict == InboundRateLimit.Verdict.CLOSE && !closingForAbuse) {
      closingForAbuse = true;
      LOG.info("connection {} of user {} kept sending over its rate limit: closed", connection.connectionId(),
          Pseudonyms.user(connection.userId()));
      connection.close(SocketClose.RATE_LIMITED);
    }
    return verdict;
  }

  @Override
  public void refund() {
    rateLimit.refund();
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
}
