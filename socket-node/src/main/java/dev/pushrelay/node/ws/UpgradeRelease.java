package dev.pushrelay.node.ws;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.UpgradeRequest;
import org.eclipse.jetty.websocket.api.UpgradeResponse;
import org.eclipse.jetty.websocket.common.JettyWebSocketFrameHandler;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.Negotiated;
import org.eclipse.jetty.websocket.core.WebSocketCoreSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets go of a socket's HTTP/1 upgrade once it is open. Jetty 12.1 (12.1.14 here) keeps the upgrade
 * reachable for the socket's whole life: the session and its frame handler each hold the completed
 * upgrade request and response; the request's headers are the HTTP parser's own fields, whose parser
 * leads to the {@code HttpConnection} and its channel state, and the response's headers are a live view
 * back to the request. That is about 5 KB of an idle socket's heap, half of what it costs
 * (docs/BENCHMARKS.md, phase 2). Jetty has no setting for it: the frame handler has setters, the
 * session's two fields are final. So the four references are swapped for one stand-in shared by every
 * socket, which answers what is asked of an upgrade after it (the protocol version, "not secure": TLS ends
 * at Cloud Run's front end) with nothing of any request. The relay itself never reads the upgrade after
 * the handshake. The core session's negotiated request URI, query parameters and subprotocol go too
 * (about 1 KB): they held the token for the socket's life, the query string's or the {@code bearer.<token>}
 * subprotocol's. Jetty reads them after the handshake only in their getters and its dump. The fields
 * are found once, by reflection; should a Jetty upgrade move them, nothing is
 * changed, a warning says so once, and {@code InMemoryNodeTest} fails.
 */
final class UpgradeRelease {
  private static final Logger LOG = LoggerFactory.getLogger(UpgradeRelease.class);
  static final UpgradeRequest REQUEST = standIn(UpgradeRequest.class);
  static final UpgradeResponse RESPONSE = standIn(UpgradeResponse.class);
  private static final Fields FIELDS = Fields.find();

  /**
   * The request URI the core session keeps instead of the one it was opened with; the relay never asks
   * for it after the handshake.
   */
  static final URI REQUEST_URI = URI.create("ws://released.invalid/ws");
  /** The subprotocol the core session keeps instead of the accepted one, when there was one. */
  static final String SUBPROTOCOL = "bearer";

  /**
   * The session's fields, and its frame handler's, that hold the upgrade; and the core session's
   * negotiated request URI, query parameters and subprotocol. Null when not found.
   */
  private record Fields(Field handler, Field request, Field response, Field negotiated, Field uri, Field query,
      Field subprotocol) {
    static Fields find() {
      try {
        Field handler = WebSocketSession.class.getDeclaredField("frameHandler");
        Field request = WebSocketSession.class.getDeclaredField("upgradeRequest");
        Field response = WebSocketSession.class.getDeclaredField("upgradeResponse");
        Field negotiated = WebSocketCoreSession.class.getDeclaredField("negotiated");
        Field uri = Negotiated.class.getDeclaredField("requestURI");
        Field query = Negotiated.class.getDeclaredField("parameterMap");
        Field subprotocol = Negotiated.class.getDeclaredField("subProtocol");
        for (Field f : List.of(handler, request, response, negotiated, uri, query, subprotocol)) {
          f.setAccessible(true);
        }
        return new Fields(handler, request, response, negotiated, uri, query, subprotocol);
      } catch (ReflectiveOperationException | RuntimeException e) {
        LOG.warn("this Jetty's sessions are not as expected ({}): each socket keeps its HTTP upgrade, about 5 KB",
            e.toString());
        return null;
      }
    }
  }

  private UpgradeRelease() {}

  /** Swaps the open session's upgrade for the stand-in; false when it could not (or is no Jetty session). */
  static boolean release(Session session) {
    if (FIELDS == null || !(session instanceof WebSocketSession ws)) {
      return false;
    }
    try {
      JettyWebSocketFrameHandler handler = (JettyWebSocketFrameHandler) FIELDS.handler().get(ws);
      handler.setUpgradeRequest(REQUEST);
      handler.setUpgradeResponse(RESPONSE);
      FIELDS.request().set(ws, REQUEST);
      FIELDS.response().set(ws, RESPONSE);
      if (ws.getCoreSession() instanceof WebSocketCoreSession core) {
        Negotiated negotiated = (Negotiated) FIELDS.negotiated().get(core);
        FIELDS.uri().set(negotiated, REQUEST_URI);
        FIELDS.query().set(negotiated, Map.of());
        if (negotiated.getSubProtocol() != null) {
          FIELDS.subprotocol().set(negotiated, SUBPROTOCOL); // "bearer.<token>", as the JS client sends it
        }
      }
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("upgrade of a session not released: {}", e.toString());
      return false;
    }
  }

  /** An upgrade request or response of nothing: empty collections, no strings, WebSocket version 13. */
  private static <T> T standIn(Class<T> type) {
    return type.cast(Proxy.newProxyInstance(UpgradeRelease.class.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> answer(proxy, method, args)));
  }

  private static Object answer(Object proxy, Method method, Object[] args) {
    Class<?> r = method.getReturnType();
    return switch (method.getName()) {
      case "getProtocolVersion" -> "13";
      case "toString" -> "released upgrade";
      case "hashCode" -> System.identityHashCode(proxy);
      case "equals" -> proxy == args[0];
      default -> r == boolean.class ? Boolean.FALSE
          : r == int.class ? 0
          : r == long.class ? 0L
          : r == List.class ? List.of()
          : r == Map.class ? Map.of()
          : r == Set.class ? Set.of()
          : null;
    };
  }
}
