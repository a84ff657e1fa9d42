package dev.pushrelay.node.ws;

import dev.pushrelay.node.auth.AuthException;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.auth.VerifiedToken;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.server.WebSocketCreator;

/**
 * The handshake: refuses before the upgrade when the node drains or is full (503), the Origin is not
 * allowed (403) or the token does not verify (401); the user id comes from the token only.
 */
public final class SocketCreator implements WebSocketCreator {
  private static final String BEARER = "Bearer ";

  private final TokenVerifier verifier;
  private final ConnectionLifecycle lifecycle;
  private final ConnectionHub hub;
  private final Clock clock;
  private final List<String> allowedOrigins;
  private final BooleanSupplier draining;

  public SocketCreator(TokenVerifier verifier, ConnectionLifecycle lifecycle, ConnectionHub hub, Clock clock,
      List<String> allowedOrigins, BooleanSupplier draining) {
    this.verifier = verifier;
    this.lifecycle = lifecycle;
    this.hub = hub;
    this.clock = clock;
    this.allowedOrigins = List.copyOf(allowedOrigins);
    this.draining = draining;
  }

  @Override
  public Object createWebSocket(ServerUpgradeRequest request, ServerUpgradeResponse response, Callback callback) {
    if (draining.getAsBoolean()) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
      Response.writeError(request, response, callback, 503, "node draining, connect again");
      return null;
    }
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (!allowedOrigins.isEmpty() && (origin == null || !allowedOrigins.contains(origin))) {
      Response.writeError(request, response, callback, 403, "origin not allowed");
      return null;
    }
    VerifiedToken token;
    try {
      token = verifier.verify(token(request), clock.instant());
    } catch (AuthException e) {
      Response.writeError(request, response, callback, 401, e.getMessage());
      return null;
    }
    if (!hub.reserve()) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "5");
      Response.writeError(request, response, callback, 503, "node full, retry later");
      return null;
    }
    return new RelayEndpoint(lifecycle, token, UUID.randomUUID().toString());
  }

  static String token(ServerUpgradeRequest request) {
    String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return header.substring(BEARER.length()).trim();
    }
    return Request.extractQueryParameters(request).getValue("access_token");
  }
}
