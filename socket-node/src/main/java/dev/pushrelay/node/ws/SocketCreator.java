package dev.pushrelay.node.ws;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.auth.AuthException;
import dev.pushrelay.node.auth.RevocationCheck;
import dev.pushrelay.node.auth.TokenVerifier;
import dev.pushrelay.node.auth.VerifiedToken;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.server.WebSocketCreator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handshake, refused before the upgrade, in this order: node draining (503 with Retry-After),
 * Origin not in the allowlist (403), the token given more than one way (400), no token or one that
 * does not verify (401), the provider's keys unreachable (503), the user's sockets on this node at
 * their cap (429 with Retry-After), the node full (503 with Retry-After). A token issued before its user's
 * revocation is refused 401, and 503 with Retry-After when the revocation cannot be read within
 * {@link RevocationCheck#DEADLINE}. Handshakes too frequent from one
 * client address (before the token is read; {@link ClientAddresses} says which address) or for one user
 * (after) are refused 429 with Retry-After. The user id comes from the
 * token only. The token comes from the {@code Authorization: Bearer} header, the {@code access_token}
 * query parameter, or a {@code bearer.<token>} WebSocket subprotocol, which is echoed back as the
 * chosen one (browsers fail a socket whose offered protocols the server ignores).
 */
public final class SocketCreator implements WebSocketCreator {
  private static final Logger LOG = LoggerFactory.getLogger(SocketCreator.class);
  private static final String BEARER = "Bearer ";
  /** The WebSocket subprotocol that carries a token: {@code new WebSocket(url, ["bearer." + token])}. */
  public static final String BEARER_PROTOCOL = "bearer.";

  private final TokenVerifier verifier;
  private final RevocationCheck revocations;
  private final NodeSockets sockets;
  private final ConnectionHub hub;
  private final Clock clock;
  private final List<String> allowedOrigins;
  private final BooleanSupplier draining;
  private final RelayMetrics metrics;
  private final boolean queryToken;
  /**
   * What the limiters may keep: 8 MiB each. A bucket left for 5 s (burst / rate of either limit) is full
   * again, so forgetting it loses nothing; 8 MiB keeps the keys of well over 5 s of handshakes.
   */
  private static final long LIMITER_HEAP = 8L << 20;
  /** A user id on the heap: a String with at most 128 Latin-1 characters. */
  private static final int USER_KEY_BYTES = 24 + 16 + 128;
  /** A {@link ClientAddresses.Key}. */
  private static final int ADDRESS_KEY_BYTES = 24;
  /** Handshakes per user: 2 a second after a burst of 10, far above any client's reconnects. */
  private final HandshakeRateLimit<String> perUser = HandshakeRateLimit.withinHeap(2, 10, LIMITER_HEAP,
      USER_KEY_BYTES);
  /**
   * Handshakes per client address ({@link ClientAddresses}: the trusted {@code X-Forwarded-For} hop, or
   * the peer): 20 a second after a burst of 100, room for an office behind one NAT. At most 80,659
   * addresses (8 MiB / 104 bytes; measured full on a 64-bit JVM with compressed references: 6.7 MiB, 87
   * bytes an address).
   */
  private final HandshakeRateLimit<ClientAddresses.Key> perAddress = HandshakeRateLimit.withinHeap(20, 100,
      LIMITER_HEAP, ADDRESS_KEY_BYTES);
  private final ClientAddresses addresses;
  private final AtomicBoolean unreadableReported = new AtomicBoolean();

  /**
   * {@code metrics} counts every refusal by outcome; accepted ones are counted once established.
   * {@code queryToken}: whether a token in the {@code access_token} query string is taken.
   * {@code trustedProxyHops}: how many {@code X-Forwarded-For} hops, from the right, proxies of ours
   * wrote ({@link ClientAddresses}).
   */
  public SocketCreator(TokenVerifier verifier, RevocationCheck revocations, NodeSockets sockets, Clock clock,
      List<String> allowedOrigins, BooleanSupplier draining, RelayMetrics metrics, boolean queryToken,
      int trustedProxyHops) {
    this.revocations = revocations;
    this.addresses = new ClientAddresses(trustedProxyHops);
    this.queryToken = queryToken;
    this.metrics = metrics;
    this.verifier = verifier;
    this.sockets = sockets;
    this.hub = sockets.hub();
    this.clock = clock;
    this.allowedOrigins = List.copyOf(allowedOrigins);
    this.draining = draining;
  }

  /** The token, and the subprotocol that carried it if one did; the token is never logged. */
  record Credential(String token, Optional<String> subprotocol) {}

  /** A handshake that gives its token more than once, or an unreadable query string: 400. */
  static final class BadHandshakeException extends Exception {
    BadHandshakeException(String message) {
      super(message);
    }
  }

  @Override
  public Object createWebSocket(ServerUpgradeRequest request, ServerUpgradeResponse response, Callback callback) {
    Instant started = clock.instant();
    if (draining.getAsBoolean()) {
      metrics.connectionAttempt(ConnectionOutcome.DRAINING);
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
      refuse(response, callback, 503, "node_draining", "node draining, connect again");
      return null;
    }
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (!allowedOrigins.isEmpty() && (origin == null || !allowedOrigins.contains(origin))) {
      metrics.connectionAttempt(ConnectionOutcome.ORIGIN_REFUSED);
      refuse(response, callback, 403, "origin_not_allowed", "origin not allowed");
      return null;
    }
    if (tooOften(perAddress, clientAddress(request), response, callback)) {
      return null;
    }
    Optional<Credential> credential;
    try {
      credential = credential(request, queryToken);
    } catch (BadHandshakeException e) {
      metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
      refuse(response, callback, 400, "bad_request", e.getMessage());
      return null;
    } catch (AuthException e) {
      metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
      unauthorized(response, callback, e.getMessage(), true);
      return null;
    }
    VerifiedToken token;
    try {
      token = verifier.verify(credential.map(Credential::token).orElse(null), clock.instant());
    } catch (AuthException.KeysUnavailable e) {
      metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "5");
      refuse(response, callback, 503, "keys_unavailable", e.getMessage());
      return null;
    } catch (AuthException e) {
      metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
      unauthorized(response, callback, e.getMessage(), credential.isPresent());
      return null;
    }
    if (revoked(token, response, callback)) {
      return null;
    }
    if (tooOften(perUser, token.userId(), response, callback)) {
      return null;
    }
    try {
      hub.reserve(token.userId());
    } catch (ConnectionHub.CapacityException e) {
      boolean userFull = e.refusal() == ConnectionHub.Refusal.USER_FULL;
      metrics.connectionAttempt(userFull ? ConnectionOutcome.RATE_LIMITED : ConnectionOutcome.OVER_CAPACITY);
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "5");
      switch (e.refusal()) {
        case USER_FULL -> refuse(response, callback, 429, "too_many_connections",
            "too many connections for this user, close one first");
        case NODE_FULL -> refuse(response, callback, 503, "node_full", "node full, retry later");
        case OUT_OF_MEMORY -> refuse(response, callback, 503, "node_full", "node at its memory budget, retry later");
      }
      return null;
    }
    // echo the offered protocol exactly as offered: browsers compare it byte for byte
    credential.get().subprotocol().ifPresent(response::setAcceptedSubProtocol);
    // No extension, permessage-deflate included, though every browser offers it: its zlib state lives
    // off-heap for the socket's whole life, 30 to 130 KB more per socket than the socket itself
    // (docs/BENCHMARKS.md); relay messages are small JSON, and a refused offer is plain RFC 6455.
    response.setExtensions(List.of());
    return sockets.accept(token, started);
  }

  /** True (and answered 401, or 503 when it cannot be told in time) when the token's user revoked it. */
  private boolean revoked(VerifiedToken token, ServerUpgradeResponse response, Callback callback) {
    switch (revocations.await(token)) {
      case TAKEN -> {
        return false;
      }
      case REVOKED -> {
        metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
        unauthorized(response, callback, "token revoked", true);
      }
      case UNKNOWN -> {
        metrics.connectionAttempt(ConnectionOutcome.REGISTRY_FAILED);
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        refuse(response, callback, 503, "registry_unavailable", "the registry did not answer in time, retry");
      }
    }
    return true;
  }

  /** True (and answered 429 with Retry-After) when {@code key} opened sockets faster than {@code limit} allows. */
  private <K> boolean tooOften(HandshakeRateLimit<K> limit, K key, ServerUpgradeResponse response, Callback callback) {
    Optional<java.time.Duration> wait = limit.take(key, System.nanoTime());
    if (wait.isEmpty()) {
      return false;
    }
    metrics.connectionAttempt(ConnectionOutcome.RATE_LIMITED);
    response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, (wait.get().toMillis() + 999) / 1000)));
    refuse(response, callback, 429, "too_many_handshakes", "sockets opened too often, retry later");
    return true;
  }

  /** The client's address as the trusted proxies, or the socket's peer, give it; see {@link ClientAddresses}. */
  private ClientAddresses.Key clientAddress(ServerUpgradeRequest request) {
    ClientAddresses.Key key = addresses.key(request.getHeaders().getValuesList("X-Forwarded-For"),
        request.getConnectionMetaData().getRemoteSocketAddress());
    if (!key.readable() && unreadableReported.compareAndSet(false, true)) {
      LOG.warn("a handshake's client address is not an IP address (X-Forwarded-For hop {} from the right, or the "
          + "peer): such handshakes share one rate limit; check RELAY_TRUSTED_PROXY_HOPS", addresses.trustedHops());
    }
    return key;
  }

  /** RFC 6750: a 401 names the scheme, and says {@code invalid_token} when a token was given. */
  private static void unauthorized(ServerUpgradeResponse response, Callback callback, String message,
      boolean tokenGiven) {
    response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE,
        tokenGiven ? "Bearer realm=\"relay\", error=\"invalid_token\"" : "Bearer realm=\"relay\"");
    refuse(response, callback, 401, "unauthorized", message);
  }

  /**
   * Answers the refused handshake with {@code {"error": {"code", "message"}}}, as the HTTP API does.
   * Not Jetty's error page: that one repeats the request URI, which may hold the token.
   */
  private static void refuse(ServerUpgradeResponse response, Callback callback, int status, String code,
      String message) {
    ObjectNode body = JsonCodec.error(code, message, null);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.write(true, ByteBuffer.wrap(JsonCodec.write(body).getBytes(StandardCharsets.UTF_8)), callback);
  }

  /**
   * The token from exactly one of the three places; empty when none holds one. An {@code Authorization}
   * header of another scheme is refused (401) rather than ignored.
   */
  static Optional<Credential> credential(ServerUpgradeRequest request, boolean queryToken)
      throws AuthException, BadHandshakeException {
    List<String> headers = request.getHeaders().getValuesList(HttpHeader.AUTHORIZATION);
    List<String> queries;
    try {
      queries = Optional.ofNullable(Request.extractQueryParameters(request).getValues("access_token"))
          .orElse(List.of());
    } catch (RuntimeException e) {
      throw new BadHandshakeException("query string is not valid");
    }
    List<String> protocols = request.getSubProtocols().stream()
        .filter(p -> p.regionMatches(true, 0, BEARER_PROTOCOL, 0, BEARER_PROTOCOL.length()))
        .toList();
    int given = (headers.isEmpty() ? 0 : 1) + (queries.isEmpty() ? 0 : 1) + (protocols.isEmpty() ? 0 : 1);
    if (given > 1) {
      throw new BadHandshakeException("give the token one way: Authorization header, access_token or subprotocol");
    }
    if (headers.size() > 1 || queries.size() > 1 || protocols.size() > 1) {
      throw new BadHandshakeException("more than one token given");
    }
    if (!headers.isEmpty()) {
      String header = headers.get(0);
      if (!header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
        throw new AuthException("authorization scheme not supported, use Bearer");
      }
      return Optional.of(new Credential(header.substring(BEARER.length()).trim(), Optional.empty()));
    }
    if (!queries.isEmpty()) {
      if (!queryToken) {
        throw new AuthException("tokens in the query string are off on this node (RELAY_ALLOW_QUERY_TOKEN): "
            + "send it in the Authorization header or as the bearer.<token> subprotocol");
      }
      return Optional.of(new Credential(queries.get(0), Optional.empty()));
    }
    if (!protocols.isEmpty()) {
      String protocol = protocols.get(0);
      return Optional.of(new Credential(protocol.substring(BEARER_PROTOCOL.length()), Optional.of(protocol)));
    }
    return Optional.empty();
  }
}
