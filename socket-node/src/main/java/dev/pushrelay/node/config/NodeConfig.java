package dev.pushrelay.node.config;

import dev.pushrelay.config.EnvReader;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.net.URI;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Socket node configuration, parsed from the environment before the port is bound; every bad or
 * missing variable is reported together.
 *
 * @param localMode enables the dev token endpoint for the demo page; never set in the cloud
 * @param sendUrl the send function's base URL, shown to the demo page
 * @param allowedOrigins browser origins allowed to open sockets; empty allows any
 */
public record NodeConfig(
    int port,
    GcpEndpoints endpoints,
    Topology topology,
    String nodeId,
    byte[] jwtSecret,
    boolean localMode,
    Optional<URI> sendUrl,
    int maxConnections,
    List<String> allowedOrigins) {

  public NodeConfig {
    allowedOrigins = List.copyOf(allowedOrigins);
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
    byte[] secret = env.secret("RELAY_JWT_SECRET", 32);
    boolean local = env.flag("RELAY_LOCAL_MODE", false);
    Optional<URI> sendUrl = env.url("RELAY_SEND_URL");
    int maxConnections = env.integer("RELAY_MAX_CONNECTIONS", 1000, 1, 100_000);
    List<String> origins = env.list("RELAY_ALLOWED_ORIGINS");
    env.finish();
    return new NodeConfig(port, endpoints, topology, nodeId, secret, local, sendUrl, maxConnections, origins);
  }

  /** Subscription names allow 255 characters of letters, digits and dashes: a short random id fits. */
  static String randomNodeId() {
    byte[] b = new byte[6];
    new SecureRandom().nextBytes(b);
    return "node-" + HexFormat.of().formatHex(b);
  }
}
