package dev.pushrelay.node;

import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.node.auth.RevocationCheck;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.node.http.NodeHttpHandler;
import dev.pushrelay.node.http.Readiness;
import dev.pushrelay.node.registry.NodeIdentity;
import dev.pushrelay.node.ws.JettySocket;
import dev.pushrelay.node.ws.NodeSockets;
import dev.pushrelay.node.ws.SocketCreator;
import java.time.Clock;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * The node's Jetty server: one port, {@code /ws} upgraded through {@link SocketCreator}, and the
 * health, readiness and {@code /metrics} endpoints ({@link NodeHttpHandler}).
 */
final class NodeServer implements AutoCloseable {
  /**
   * Largest client frame read at all; a larger one closes the socket with 1009. Frames over
   * {@link dev.pushrelay.model.Limits#MAX_CLIENT_FRAME_BYTES} (16 KiB) and up to this are read and
   * refused with an error frame {@code too_large}, so that a publish can be answered.
   */
  static final int MAX_INBOUND_FRAME_BYTES = JettySocket.MAX_MESSAGE_BYTES;
  private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);

  private final Server server = new Server();

  /**
   * Binds the port and serves: {@code refusing} says when handshakes are refused (draining, fenced);
   * {@code readiness} is what {@code /ready} reports.
   */
  void start(NodeConfig config, NodeIdentity identity, Readiness readiness, TokenVerifier verifier,
      RevocationCheck revocations, NodeSockets sockets, Clock clock, BooleanSupplier refusing, RelayMetrics metrics,
      Telemetry telemetry) throws Exception {
    ServerConnector connector = new ServerConnector(server);
    connector.setPort(config.port());
    if (!config.exposure().bindHost().isEmpty()) {
      connector.setHost(config.exposure().bindHost());
    }
    server.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, context, container -> {
      container.setIdleTimeout(IDLE_TIMEOUT);
      container.setMaxTextMessageSize(MAX_INBOUND_FRAME_BYTES);
      container.setMaxBinaryMessageSize(MAX_INBOUND_FRAME_BYTES);
      container.setMaxFrameSize(MAX_INBOUND_FRAME_BYTES);
      container.addMapping("/ws", new SocketCreator(verifier, revocations, sockets, clock, config.allowedOrigins(),
          refusing, metrics, config.exposure().queryToken(), config.exposure().trustedProxyHops()));
    });
    ws.setHandler(new NodeHttpHandler(config, identity::id, readiness, clock, telemetry));
    context.setHandler(ws);
    server.setHandler(context);
    server.setStopTimeout(2000);
    server.start();
  }

  int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }
}
