package dev.pushrelay.bench;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * The minimal Jetty 12 WebSocket echo of the ceiling phase, run as a process of its own: every text
 * frame on {@code /echo} goes back as it came. Usage: EchoServer PORT.
 */
public final class EchoServer {
  private EchoServer() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: EchoServer PORT");
      System.exit(2);
    }
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(Integer.parseInt(args[0]));
    server.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, context,
        container -> container.addMapping("/echo", (request, response, callback) -> new Echo()));
    context.setHandler(ws);
    server.setHandler(context);
    server.start();
    System.out.println("jetty echo listening on " + connector.getLocalPort());
    server.join();
  }

  /** Public: Jetty requires endpoint classes to be. */
  public static final class Echo implements Session.Listener.AutoDemanding {
    private Session session;

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketText(String text) {
      session.sendText(text, Callback.NOOP);
    }
  }
}
