package dev.pushrelay.functions.send;

import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.FunctionRuntime;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.functions.http.MetricsResponse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.registry.Revocations;
import dev.pushrelay.routing.LiveRoute;
import dev.pushrelay.tracing.MessageTracing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The send API's HTTP side: CORS for the configured origins, the API key, and the routes to
 * {@code POST /v1/messages} ({@link SendEndpoint}), {@code GET /v1/users/{userId}/presence}
 * ({@link PresenceEndpoint}), {@code POST /v1/users/{userId}/disconnect} ({@link DisconnectEndpoint}) and
 * {@code GET /metrics}.
 */
public final class SendFunction implements HttpFunction {
  static final String MESSAGES_PATH = "/v1/messages";
  static final String PRESENCE_PREFIX = "/v1/users/";
  static final String PRESENCE_SUFFIX = "/presence";
  static final String DISCONNECT_SUFFIX = "/disconnect";

  private final FunctionConfig config;
  private final Telemetry telemetry;
  private final SendEndpoint send;
  private final PresenceEndpoint presence;
  private final DisconnectEndpoint disconnect;

  /** Used by the Functions Framework: one instance per function instance. */
  public SendFunction() {
    this(FunctionRuntime.get(Part.SEND_FUNCTION));
  }

  private SendFunction(FunctionRuntime runtime) {
    this(runtime.config(), runtime.publisher(), runtime.registry(), runtime.mailbox(), runtime.revocations(),
        Clock.systemUTC(), () -> UUID.randomUUID().toString(), runtime.telemetry());
  }

  public SendFunction(FunctionConfig config, RelayPublisher publisher, RegistryStore registry, Mailbox mailbox,
      Revocations revocations, Clock clock, Supplier<String> ids) {
    this(config, publisher, registry, mailbox, revocations, clock, ids, Telemetry.local("send-function"));
  }

  /** {@code telemetry} holds this function's instruments and answers {@code GET /metrics}. */
  public SendFunction(FunctionConfig config, RelayPublisher publisher, RegistryStore registry, Mailbox mailbox,
      Revocations revocations, Clock clock, Supplier<String> ids, Telemetry telemetry) {
    this.config = config;
    this.telemetry = telemetry;
    RelayMetrics metrics = new RelayMetrics(telemetry.meter(), Part.SEND_FUNCTION);
    LiveRoute live = new LiveRoute(registry, publisher, clock);
    DirectRoute direct = new DirectRoute(live, publisher,
        new ParkFirst(mailbox, publisher, clock), metrics);
    this.send = new SendEndpoint(config, publisher, direct, clock, ids, metrics, new MessageTracing(telemetry),
        mailbox);
    this.presence = new PresenceEndpoint(registry, clock, PresenceCallers.of(config.presenceCallers()));
    this.disconnect = new DisconnectEndpoint(live, publisher, revocations, clock);
  }

  @Override
  public void service(HttpRequest request, HttpResponse response) throws IOException {
    String path = request.getPath();
    Optional<String> origin = request.getFirstHeader("Origin");
    if (origin.isPresent() && config.corsOrigins().contains(origin.get())) {
      response.appendHeader("Access-Control-Allow-Origin", origin.get());
      response.appendHeader("Vary", "Origin");
    }
    if (request.getMethod().equals("OPTIONS")) {
      response.appendHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      response.appendHeader("Access-Control-Allow-Headers", "Content-Type, X-Relay-Api-Key");
      response.appendHeader("Access-Control-Max-Age", "600");
      response.setStatusCode(204);
      return;
    }
    if (!authorized(request)) {
      JsonResponses.error(response, 401, "unauthorized", "missing or wrong X-Relay-Api-Key", null);
      return;
    }
    if (path.equals(MESSAGES_PATH)) {
      if (!request.getMethod().equals("POST")) {
        methodNotAllowed(response, "POST, OPTIONS");
        return;
      }
      send.send(request, response);
    } else if (path.startsWith(PRESENCE_PREFIX) && path.endsWith(DISCONNECT_SUFFIX)
        && path.length() >= PRESENCE_PREFIX.length() + DISCONNECT_SUFFIX.length()) {
      if (!request.getMethod().equals("POST")) {
        methodNotAllowed(response, "POST, OPTIONS");
        return;
      }
      disconnect.disconnect(userOf(path, DISCONNECT_SUFFIX), request, response);
    } else if (path.startsWith(PRESENCE_PREFIX) && path.endsWith(PRESENCE_SUFFIX)
        && path.length() >= PRESENCE_PREFIX.length() + PRESENCE_SUFFIX.length()) {
      if (!request.getMethod().equals("GET")) {
        methodNotAllowed(response, "GET, OPTIONS");
        return;
      }
      presence.answer(userOf(path, PRESENCE_SUFFIX), request, response);
    } else if (path.equals(MetricsResponse.PATH)) {
      if (!request.getMethod().equals("GET")) {
        methodNotAllowed(response, "GET");
        return;
      }
      MetricsResponse.send(response, telemetry);
    } else {
      JsonResponses.error(response, 404, "not_found", "no such resource; see POST " + MESSAGES_PATH, null);
    }
  }

  /**
   * The user id of {@code /v1/users/{userId}/<suffix>}, percent-decoded as a path segment (an e-mail's
   * {@code @} comes as {@code %40}; a {@code +} stays a plus). Text that does not decode is returned as
   * it is, and the endpoint refuses it as no valid user id.
   */
  static String userOf(String path, String suffix) {
    String segment = path.substring(PRESENCE_PREFIX.length(), path.length() - suffix.length());
    try {
      return java.net.URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return segment;
    }
  }

  private boolean authorized(HttpRequest request) {
    if (config.sendApiKey().isEmpty()) {
      return true;
    }
    byte[] expected = config.sendApiKey().get().getBytes(StandardCharsets.UTF_8);
    byte[] given = request.getFirstHeader("X-Relay-Api-Key").orElse("").getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given);
  }

  private static void methodNotAllowed(HttpResponse response, String allow) throws IOException {
    response.appendHeader("Allow", allow);
    JsonResponses.error(response, 405, "method_not_allowed", "allowed: " + allow, null);
  }
}
