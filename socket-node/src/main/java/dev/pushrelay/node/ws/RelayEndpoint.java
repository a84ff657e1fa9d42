package dev.pushrelay.node.ws;

import dev.pushrelay.node.auth.VerifiedToken;
import java.nio.ByteBuffer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/** The Jetty endpoint of one socket; it hands every event to the {@link ConnectionLifecycle}. */
public final class RelayEndpoint implements Session.Listener.AutoDemanding {
  private final ConnectionLifecycle lifecycle;
  private final VerifiedToken token;
  private final String connectionId;
  private volatile LocalConnection connection;
  private volatile Session session;

  public RelayEndpoint(ConnectionLifecycle lifecycle, VerifiedToken token, String connectionId) {
    this.lifecycle = lifecycle;
    this.token = token;
    this.connectionId = connectionId;
  }

  @Override
  public void onWebSocketOpen(Session session) {
    this.session = session;
    OutboundQueue queue = new OutboundQueue((text, written, failed) ->
        session.sendText(text, Callback.from(written, failed)), lifecycle.outboundCapacity());
    connection = new LocalConnection(connectionId, token.userId(), queue, lifecycle.clock());
    lifecycle.opened(connection, token, session);
  }

  @Override
  public void onWebSocketText(String text) {
    lifecycle.text(connection, text);
  }

  @Override
  public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
    callback.succeed();
    lifecycle.binary(connection);
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason) {
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
}
