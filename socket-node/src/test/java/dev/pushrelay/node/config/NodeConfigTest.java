package dev.pushrelay.node.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import dev.pushrelay.config.ConfigException;
import dev.pushrelay.node.auth.TokenSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeConfigTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";

  private static Map<String, String> env(String... pairs) {
    Map<String, String> m = new HashMap<>(Map.of("GOOGLE_CLOUD_PROJECT", "p"));
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return m;
  }

  private static List<String> problems(Map<String, String> env) {
    return assertThrows(ConfigException.class, () -> NodeConfig.fromEnvironment(env)).problems();
  }

  @Test
  void hs256IsTheDefaultWithTheDefaultLimits() {
    NodeConfig c = NodeConfig.fromEnvironment(env("RELAY_JWT_SECRET", SECRET));
    assertEquals(TokenSettings.Mode.HS256, c.tokens().mode());
    assertEquals(SECRET, new String(c.jwtSecret()));
    assertEquals(SocketLimits.defaults(), c.limits());
    assertEquals(10, c.limits().maxConnectionsPerUser());
  }

  @Test
  void jwksModeForFirebase() {
    NodeConfig c = NodeConfig.fromEnvironment(env("RELAY_AUTH_MODE", "jwks",
        "RELAY_JWKS_URL", TokenSettings.FIREBASE_JWKS_URL,
        "RELAY_JWT_ISSUER", "https://securetoken.google.com/my-app",
        "RELAY_JWT_AUDIENCE", "my-app",
        "RELAY_JWT_CLOCK_SKEW_SECONDS", "5",
        "RELAY_MAX_CONNECTIONS_PER_USER", "3",
        "RELAY_INBOUND_FRAMES_PER_SECOND", "50",
        "RELAY_INBOUND_FRAME_BURST", "100",
        "RELAY_PING_INTERVAL_SECONDS", "20"));
    assertEquals(TokenSettings.Mode.JWKS, c.tokens().mode());
    assertEquals(Optional.of("my-app"), c.tokens().audience());
    assertEquals(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256), c.tokens().algorithms());
    assertEquals(Duration.ofSeconds(5), c.tokens().clockSkew());
    assertEquals(0, c.jwtSecret().length);
    assertEquals(3, c.limits().maxConnectionsPerUser());
    assertEquals(50, c.limits().inboundFramesPerSecond());
    assertEquals(100, c.limits().inboundFrameBurst());
    assertEquals(Duration.ofSeconds(20), c.limits().pingInterval());
  }

  @Test
  void everyProblemIsReportedTogether() {
    List<String> p = problems(env("RELAY_AUTH_MODE", "jwks",
        "RELAY_JWKS_URL", "http://keys.example.com/jwks.json",
        "RELAY_JWT_ALGORITHMS", "RS256,HS256",
        "RELAY_LOCAL_MODE", "true",
        "RELAY_ALLOWED_ORIGINS", "https://app.example.com/,*,https://ok.example.com:8443",
        "RELAY_MAX_CONNECTIONS_PER_USER", "0",
        "RELAY_PING_INTERVAL_SECONDS", "soon"));
    String all = String.join("\n", p);
    assertTrue(all.contains("RELAY_JWKS_URL must be https"), all);
    assertTrue(all.contains("RELAY_JWT_ISSUER is required"), all);
    assertTrue(all.contains("RELAY_JWT_AUDIENCE is required"), all);
    assertTrue(all.contains("RELAY_JWT_ALGORITHMS may name only asymmetric algorithms"), all);
    assertTrue(all.contains("RELAY_LOCAL_MODE needs RELAY_AUTH_MODE=hs256"), all);
    assertTrue(all.contains("'https://app.example.com/'"), all);
    assertTrue(all.contains("'*'"), all);
    assertTrue(!all.contains("'https://ok.example.com:8443'"), all);
    assertTrue(all.contains("RELAY_MAX_CONNECTIONS_PER_USER must be between 1"), all);
    assertTrue(all.contains("RELAY_PING_INTERVAL_SECONDS must be a whole number"), all);
    assertEquals(9, p.size(), all);
  }

  @Test
  void badModeAndMissingSecret() {
    assertEquals(List.of("RELAY_AUTH_MODE must be hs256 or jwks, was 'rs256'"), problems(env("RELAY_AUTH_MODE", "rs256")));
    assertEquals(List.of("RELAY_JWT_SECRET is required"), problems(env()));
    List<String> shortSecret = problems(env("RELAY_JWT_SECRET", "short"));
    assertEquals(List.of("RELAY_JWT_SECRET must be at least 32 bytes long"), shortSecret);
    assertTrue(!String.join("", shortSecret).contains("short"), "the secret is never echoed");
  }

  /** The dev secret is published in the repository: a node in the cloud must not accept tokens it signs. */
  @Test
  void theLocalStacksDevSecretIsRefusedOutsideLocalMode() {
    List<String> p = problems(env("RELAY_JWT_SECRET", NodeConfig.DEV_SECRET));
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("RELAY_JWT_SECRET is the local stack's published dev secret"), p.get(0));
    assertTrue(NodeConfig.fromEnvironment(env("RELAY_JWT_SECRET", NodeConfig.DEV_SECRET, "RELAY_LOCAL_MODE", "true"))
        .localMode(), "the local stack may use it");
  }

  @Test
  void jwksOverPlainHttpOnlyOnThisMachine() {
    NodeConfig c = NodeConfig.fromEnvironment(env("RELAY_AUTH_MODE", "JWKS", "RELAY_JWKS_URL",
        "http://127.0.0.1:9999/jwks.json", "RELAY_JWT_ISSUER", "i", "RELAY_JWT_AUDIENCE", "a",
        "RELAY_JWT_ALGORITHMS", "ES256"));
    assertEquals(Set.of(JWSAlgorithm.ES256), c.tokens().algorithms());
  }

  /** The client address is the hop Cloud Run's front end appended, unless told how many hops to trust. */
  @Test
  void trustedProxyHopsDefaultToCloudRunsOneAndToNoneLocally() {
    assertEquals(1, NodeConfig.fromEnvironment(env("RELAY_JWT_SECRET", SECRET)).exposure().trustedProxyHops());
    assertEquals(0, NodeConfig.fromEnvironment(env("RELAY_JWT_SECRET", SECRET, "RELAY_LOCAL_MODE", "true"))
        .exposure().trustedProxyHops());
    assertEquals(2, NodeConfig.fromEnvironment(env("RELAY_JWT_SECRET", SECRET, "RELAY_TRUSTED_PROXY_HOPS", "2"))
        .exposure().trustedProxyHops());
    assertEquals(List.of("RELAY_TRUSTED_PROXY_HOPS must be between 0 and 10, was 11"),
        problems(env("RELAY_JWT_SECRET", SECRET, "RELAY_TRUSTED_PROXY_HOPS", "11")));
    assertEquals(List.of("RELAY_TRUSTED_PROXY_HOPS must be a whole number, was 'one'"),
        problems(env("RELAY_JWT_SECRET", SECRET, "RELAY_TRUSTED_PROXY_HOPS", "one")));
  }

  @Test
  void aLogKeyTooShortIsReportedWithTheRest() {
    assertEquals(List.of("RELAY_TRUSTED_PROXY_HOPS must be between 0 and 10, was -1",
        "RELAY_LOG_KEY must be at least 16 bytes long"),
        problems(env("RELAY_JWT_SECRET", SECRET, "RELAY_TRUSTED_PROXY_HOPS", "-1", "RELAY_LOG_KEY", "short")));
  }
}
