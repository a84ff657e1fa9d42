package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.RecordingSession;
import dev.pushrelay.testing.TestSocketClient;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.junit.jupiter.api.Test;

/**
 * The release of the HTTP upgrade against this project's real Jetty: a Jetty that moves the fields
 * fails here, not only in a benchmark's heap figure.
 */
class UpgradeReleaseTest {
  /** An endpoint that releases its upgrade at open, as a Connection does, and echoes text. */
  public static final class Releasing implements Session.Listener.AutoDemanding {
    final CompletableFuture<Session> opened = new CompletableFuture<>();
    volatile Object before;
    volatile String query;
    volatile boolean released;
    private volatile Session session;

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
      before = session.getUpgradeRequest();
      query = ((WebSocketSession) session).getCoreSession().getRequestURI().getQuery();
      released = UpgradeRelease.release(session);
      opened.complete(session);
    }

    @Override
    public void onWebSocketText(String text) {
      session.sendText(text, Callback.NOOP);
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      // the server stops under the client: nothing to report
    }
  }

  /** A real Jetty on a free port whose /ws opens {@code endpoint}, accepting the first subprotocol offered. */
  private static Server serving(Releasing endpoint) throws Exception {
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    context.setHandler(WebSocketUpgradeHandler.from(server, context, container -> container.addMapping("/ws",
        (rq, rs, cb) -> {
          rq.getSubProtocols().stream().findFirst().ifPresent(rs::setAcceptedSubProtocol);
          return endpoint;
        })));
    server.setHandler(context);
    server.start();
    return server;
  }

  private static String ws(Server server) {
    return "ws://127.0.0.1:" + ((ServerConnector) server.getConnectors()[0]).getLocalPort() + "/ws";
  }

  @Test
  void anOpenJettySessionLetsGoOfItsUpgradeAndStillWorks() throws Exception {
    Releasing endpoint = new Releasing();
    Server server = serving(endpoint);
    try (TestSocketClient client = TestSocketClient.connect(URI.create(ws(server) + "?access_token=secret"), Map.of(),
        Duration.ofSeconds(10))) {
      Session session = endpoint.opened.get(10, TimeUnit.SECONDS);
      assertTrue(endpoint.released, "released");
      assertEquals("access_token=secret", endpoint.query, "held the query before");
      CoreSession core = ((WebSocketSession) session).getCoreSession();
      assertSame(UpgradeRelease.REQUEST_URI, core.getRequestURI(), "the token in the query string is let go");
      assertEquals(Map.of(), core.getParameterMap());
      assertNotSame(UpgradeRelease.REQUEST, endpoint.before, "held the real upgrade before");
      assertSame(UpgradeRelease.REQUEST, session.getUpgradeRequest());
      assertSame(UpgradeRelease.RESPONSE, session.getUpgradeResponse());
      assertEquals("13", session.getProtocolVersion());
      assertFalse(session.isSecure());
      client.send("{\"type\":\"echo\"}");
      client.awaitType("echo", Duration.ofSeconds(10));
    } finally {
      server.stop();
    }
  }

  /** The token in the {@code bearer.<token>} subprotocol, as the JS client sends it, is let go as well. */
  @Test
  void theTokenOfTheSubprotocolIsLetGo() throws Exception {
    Releasing endpoint = new Releasing();
    Server server = serving(endpoint);
    try (TestSocketClient client = TestSocketClient.connect(URI.create(ws(server)), Map.of(), List.of("bearer.secret"),
        Duration.ofSeconds(10))) {
      Session session = endpoint.opened.get(10, TimeUnit.SECONDS);
      assertTrue(endpoint.released, "released");
      CoreSession core = ((WebSocketSession) session).getCoreSession();
      assertEquals(UpgradeRelease.SUBPROTOCOL, core.getNegotiatedSubProtocol());
      client.send("{\"type\":\"echo\"}");
      client.awaitType("echo", Duration.ofSeconds(10));
    } finally {
      server.stop();
    }
  }

  @Test
  void aSessionThatIsNoJettySessionIsLeftAlone() {
    assertFalse(UpgradeRelease.release(new RecordingSession().session()));
  }
}
