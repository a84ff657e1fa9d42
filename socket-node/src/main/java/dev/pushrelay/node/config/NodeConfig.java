package dev.pushrelay.node.config;

import com.nimbusds.jose.JWSAlgorithm;
import dev.pushrelay.config.EnvReader;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.node.auth.TokenSettings;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Socket node configuration, parsed from the environment before the port is bound; every bad or
 * missing variable is reported together.
 *
 * @param tokens how connection tokens are verified (HS256 secret or a JWK set URL)
 * @param localMode enables the dev token endpoint for the demo page; never set in the cloud
 * @param sendUrl the send function's base URL, shown to the demo page
 * @param allowedOrigins browser origins allowed to open sockets, compared exactly; empty allows any
 * @param limits per-user cap, inbound rate, ping interval and outbound bounds of every socket
 * @param exposure whether the node takes query-string tokens, serves the demo page and /metrics
 * @param revision the deployed revision the node runs ({@code K_REVISION}, which Cloud Run sets; empty:
 *     none): {@code scripts/rollback.sh --retire} retires every node of one revision
 */
public record NodeConfig(
    int port,
    GcpEndpoints endpoints,
    Topology topology,
    String nodeId,
    TokenSettings tokens,
    boolean localMode,
    Optional<URI> sendUrl,
    int maxConnections,
    List<String> allowedOrigins,
    SocketLimits limits,
    Exposure exposure,
    String revision) {

  /** A serialized origin as browsers send it: scheme, host, optional port; no path, no trailing slash. */
  private static final Pattern ORIGIN = Pattern.compile("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");

  public NodeConfig {
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  /** Of no named revision. */
  public NodeConfig(int port, GcpEndpoints endpoints, Topology topology, String nodeId, TokenSettings tokens,
      boolean localMode, Optional<URI> sendUrl, int maxConnections, List<String> allowedOrigins, SocketLimits limits,
      Exposure exposure) {
    this(port, endpoints, topology, nodeId, tokens, localMode, sendUrl, maxConnections, allowedOrigins, limits,
        exposure, "");
  }

  /** HS256 with {@code jwtSecret} and the default socket limits. */
  public NodeConfig(int port, GcpEndpoints endpoints, Topology topology, String nodeId, byte[] jwtSecret,
      boolean localMode, Optional<URI> sendUrl, int maxConnections, List<String> allowedOrigins) {
    this(port, endpoints, topology, nodeId, TokenSettings.hs256(jwtSecret), localMode, sendUrl, maxConnections,
        allowedOrigins, SocketLimits.defaults(), Exposure.forMode(localMode));
  }

  /** The secret {@code scripts/run-local.sh} uses unless told otherwise; refused outside local mode. */
  public static final String DEV_SECRET = "local-dev-secret-change-me-0123456789abcdef";

  /** The HS256 secret (dev tokens in local mode); empty in JWKS mode. */
  public byte[] jwtSecret() {
    return tokens.secret();
  }

  public static NodeConfig fromEnvironment(Map<String, String> environment) {
    EnvReader env = new EnvReader(environment);
    int port = env.integer("PORT", 8080, 0, 65535);
    GcpEndpoints endpoints = GcpEndpoints.read(env);
    Topology topology = TopologySettings.read(env);
    String nodeId = env.optional("RELAY_NODE_ID").orElseGet(NodeConfig::randomNodeId);
    if (!nodeId.matches("[a-z0-9-]{1,40}")) {
      env.problem("RELAY_NODE_ID must be 1-40 characters of a-z 0-9 -");
    }
    String mode = env.string("RELAY_AUTH_MODE", "hs256").toLowerCase(Locale.ROOT);
    TokenSettings tokens = tokens(env, mode);
    boolean local = env.flag("RELAY_LOCAL_MODE", false);
    if (!local && tokens != null && mode.equals("hs256") && java.util.Arrays.equals(tokens.secret(),
        DEV_SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
      env.problem("RELAY_JWT_SECRET is the local stack's published dev secret: anyone could sign tokens with it; "
          + "outside RELAY_LOCAL_MODE set a secret of your own (at least 32 random bytes)");
    }
    if (local && !mode.equals("hs256")) {
      env.problem("RELAY_LOCAL_MODE needs RELAY_AUTH_MODE=hs256: the demo page's dev tokens are HS256");
    }
    Optional<URI> sendUrl = env.url("RELAY_SEND_URL");
    int maxConnections = env.integer("RELAY_MAX_CONNECTIONS", 1000, 1, 100_000);
    List<String> origins = env.list("RELAY_ALLOWED_ORIGINS");
    for (String origin : origins) {
      if (!ORIGIN.matcher(origin).matches()) {
        env.problem("RELAY_ALLOWED_ORIGINS entries must be origins like https://app.example.com (scheme, host, "
            + "optional port; no path, no trailing slash, no wildcard), was '" + origin + "'");
      }
    }
    SocketLimits defaults = SocketLimits.defaults();
    int perUser = env.integer("RELAY_MAX_CONNECTIONS_PER_USER", defaults.maxConnectionsPerUser(), 1, 100_000);
    int perUserFleet = env.integer("RELAY_MAX_CONNECTIONS_PER_USER_FLEET", defaults.maxConnectionsPerUserFleet(), 1,
        1_000_000);
    int rate = env.integer("RELAY_INBOUND_FRAMES_PER_SECOND", defaults.inboundFramesPerSecond(), 1, 10_000);
    int burst = env.integer("RELAY_INBOUND_FRAME_BURST", defaults.inboundFrameBurst(), 1, 100_000);
    int ping = env.integer("RELAY_PING_INTERVAL_SECONDS", (int) defaults.pingInterval().toSeconds(), 1, 600);
    int memoryMb = env.integer("RELAY_MEMORY_BUDGET_MB", (int) (defaults.memoryBudgetBytes() >> 20), 1, 1_000_000);
    Exposure defaultExposure = Exposure.forMode(local);
    Exposure exposure = new Exposure(env.flag("RELAY_ALLOW_QUERY_TOKEN", local), env.flag("RELAY_SERVE_DEMO", local),
        env.flag("RELAY_SERVE_METRICS", local), env.string("RELAY_BIND_HOST", ""),
        env.integer("RELAY_TRUSTED_PROXY_HOPS", defaultExposure.trustedProxyHops(), 0, Exposure.MAX_TRUSTED_PROXY_HOPS));
    Pseudonyms.read(env); // installed by the main class; read here so that a bad key is reported with the rest
    String revision = env.string("K_REVISION", "");
    if (!revision.matches("[A-Za-z0-9._-]{0,100}")) {
      env.problem("K_REVISION must be up to 100 characters of A-Z a-z 0-9 . _ - (a Cloud Run revision name)");
    }
    env.finish();
    SocketLimits limits = defaults.withMaxConnectionsPerUser(perUser, perUserFleet).withInboundRate(rate, burst)
        .withPingInterval(Duration.ofSeconds(ping)).withMemoryBudget((long) memoryMb << 20);
    return new NodeConfig(port, endpoints, topology, nodeId, tokens, local, sendUrl, maxConnections, origins, limits,
        exposure, revision);
  }

  /** The token settings, or null when a problem was recorded (then {@link EnvReader#finish()} throws). */
  private static TokenSettings tokens(EnvReader env, String mode) {
    Duration skew = Duration.ofSeconds(env.integer("RELAY_JWT_CLOCK_SKEW_SECONDS",
        (int) TokenSettings.DEFAULT_CLOCK_SKEW.toSeconds(), 0, 300));
    Optional<String> issuer = env.optional("RELAY_JWT_ISSUER");
    Optional<String> audience = env.optional("RELAY_JWT_AUDIENCE");
    switch (mode) {
      case "hs256" -> {
        byte[] secret = env.secret("RELAY_JWT_SECRET", 32);
        if (secret.length < 32) {
          return null;
        }
        return TokenSettings.hs256(secret).withIssuerAndAudience(issuer, audience).withClockSkew(skew);
      }
      case "jwks" -> {
        Optional<URI> url = env.url("RELAY_JWKS_URL");
        boolean ok = true;
        if (url.isEmpty()) {
          env.problem("RELAY_JWKS_URL is required when RELAY_AUTH_MODE=jwks (Firebase Auth: "
              + TokenSettings.FIREBASE_JWKS_URL + ")");
          ok = false;
        } else if (!url.get().getScheme().equalsIgnoreCase("https") && !isLoopback(url.get())) {
          env.problem("RELAY_JWKS_URL must be https (http only for localhost)");
          ok = false;
        }
        if (issuer.isEmpty()) {
          env.problem("RELAY_JWT_ISSUER is required when RELAY_AUTH_MODE=jwks (Firebase Auth: "
              + "https://securetoken.google.com/<project id>)");
          ok = false;
        }
        if (audience.isEmpty()) {
          env.problem("RELAY_JWT_AUDIENCE is required when RELAY_AUTH_MODE=jwks (Firebase Auth: the project id)");
          ok = false;
        }
        Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
        List<String> named = env.list("RELAY_JWT_ALGORITHMS");
        for (String name : named) {
          JWSAlgorithm alg = JWSAlgorithm.parse(name.toUpperCase(Locale.ROOT).equals("EDDSA") ? "EdDSA"
              : name.toUpperCase(Locale.ROOT));
          if (!TokenSettings.ASYMMETRIC.contains(alg)) {
            env.problem("RELAY_JWT_ALGORITHMS may name only asymmetric algorithms (RS256, ES256, PS256, ...), "
                + "was '" + name + "'");
            ok = false;
          }
          algorithms.add(alg);
        }
        if (!ok) {
          return null;
        }
        TokenSettings jwks = TokenSettings.jwks(url.get(), issuer.get(), audience.get()).withClockSkew(skew);
        return algorithms.isEmpty() ? jwks : jwks.withAlgorithms(algorithms);
      }
      default -> {
        env.problem("RELAY_AUTH_MODE must be hs256 or jwks, was '" + mode + "'");
        return null;
      }
    }
  }

  private static boolean isLoopback(URI url) {
    String host = url.getHost();
    return url.getScheme().equalsIgnoreCase("http")
        && (host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]"));
  }

  /** Subscription names allow 255 characters of letters, digits and dashes: a short random id fits. */
  static String randomNodeId() {
    byte[] b = new byte[6];
    new SecureRandom().nextBytes(b);
    return "node-" + HexFormat.of().formatHex(b);
  }
}
