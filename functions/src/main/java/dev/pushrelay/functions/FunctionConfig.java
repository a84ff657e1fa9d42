package dev.pushrelay.functions;

import dev.pushrelay.config.EnvReader;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Configuration of both functions, parsed from the environment; every problem is reported at once.
 *
 * @param sendApiKey when set, the send function wants it in the {@code X-Relay-Api-Key} header (local use;
 *     in the cloud IAM guards the functions)
 * @param corsOrigins origins that may call the send function from a browser (the demo page)
 * @param directRoute the send function publishes a message for a user who holds sockets straight to
 *     their nodes (one Pub/Sub hop); when false every message takes the route function's path
 * @param presenceCallers the accounts (e-mails) that may ask for a user's presence; {@code *}: any caller;
 *     empty: none ({@code RELAY_PRESENCE_CALLERS})
 */
public record FunctionConfig(GcpEndpoints endpoints, Topology topology, Optional<String> sendApiKey,
    List<String> corsOrigins, boolean directRoute, List<String> presenceCallers) {

  public FunctionConfig {
    corsOrigins = List.copyOf(corsOrigins);
    presenceCallers = List.copyOf(presenceCallers);
  }

  /** Tests' configuration: the direct route on, presence for any caller. */
  public FunctionConfig(GcpEndpoints endpoints, Topology topology, Optional<String> sendApiKey,
      List<String> corsOrigins) {
    this(endpoints, topology, sendApiKey, corsOrigins, true, List.of("*"));
  }

  public static FunctionConfig fromEnvironment(Map<String, String> environment) {
    EnvReader env = new EnvReader(environment);
    GcpEndpoints endpoints = GcpEndpoints.read(env);
    Topology topology = TopologySettings.read(env);
    Optional<String> apiKey = env.optional("RELAY_SEND_API_KEY");
    List<String> cors = env.list("RELAY_CORS_ORIGINS");
    boolean directRoute = env.flag("RELAY_DIRECT_ROUTE", true);
    List<String> presenceCallers = env.list("RELAY_PRESENCE_CALLERS");
    Pseudonyms.read(env); // installed by the runtime; read here so that a bad key is reported with the rest
    env.finish();
    return new FunctionConfig(endpoints, topology, apiKey, cors, directRoute, presenceCallers);
  }
}
