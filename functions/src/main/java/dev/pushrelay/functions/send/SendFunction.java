package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.FunctionRuntime;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.SendRequest;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import java.io.IOException;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The send API: {@code POST /v1/messages} accepts a send request and answers 202 only once Pub/Sub
 * has accepted it; {@code GET /v1/users/{userId}/presence} tells whether a user is online.
 */
public final class SendFunction implements HttpFunction {
  private static final Logger LOG = LoggerFactory.getLogger(SendFunction.class);
  static final String MESSAGES_PATH = "/v1/messages";
  static final String PRESENCE_PREFIX = "/v1/users/";
  static final String PRESENCE_SUFFIX = "/presence";
  private static final long PUBLISH_TIMEOUT_SECONDS = 10;

  private final FunctionConfig config;
  private final RelayPublisher publisher;
  private final RegistryStore registry;
  private final Clock clock;
  private final Supplier<String> ids;

  /** Used by the Functions Framework: one instance per function instance. */
  public SendFunction() {
    this(FunctionRuntime.get().config(), FunctionRuntime.get().publisher(), FunctionRuntime.get().registry(),
        Clock.systemUTC(), () -> UUID.randomUUID().toString());
  }

  public SendFunction(
      FunctionConfig config, RelayPublisher publisher, RegistryStore registry, Clock clock, Supplier<String> ids) {
    this.config = config;
    this.publisher = publisher;
    this.registry = registry;
    this.clock = clock;
    this.ids = ids;
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
      send(request, response);
    } else if (path.startsWith(PRESENCE_PREFIX) && path.endsWith(PRESENCE_SUFFIX)) {
      if (!request.getMethod().equals("GET")) {
        methodNotAllowed(response, "GET, OPTIONS");
        return;
      }
      presence(path.substring(PRESENCE_PREFIX.length(), path.length() - PRESENCE_SUFFIX.length()), response);
    } else {
      JsonResponses.error(response, 404, "not_found", "no such resource; see POST " + MESSAGES_PATH, null);
    }
  }

  private void send(HttpRequest request, HttpResponse response) throws IOException {
    String type = request.getContentType().orElse("");
    if (!isJson(type)) {
      JsonResponses.error(response, 415, "unsupported_media_type", "send application/json", null);
      return;
    }
    Optional<byte[]> body = BodyReader.read(request, Limits.MAX_BODY_BYTES);
    if (body.isEmpty()) {
      JsonResponses.error(response, 413, "too_large", "the body is larger than " + Limits.MAX_BODY_BYTES + " bytes",
          null);
      return;
    }
    SendRequest sendRequest;
    try {
      sendRequest = SendRequest.parse(body.get());
    } catch (InvalidRequestException e) {
      JsonResponses.error(response, 400, "invalid_request", e.getMessage(), e.field());
      return;
    }
    List<RelayMessage> messages = sendRequest.toMessages(ids, clock.instant(), config.topology().defaultTtlSeconds());
    CompletableFuture<?>[] published = messages.stream()
        .map(m -> publisher.request(m, Map.of()))
        .toArray(CompletableFuture[]::new);
    try {
      CompletableFuture.allOf(published).get(PUBLISH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("publish to {} failed for message {} ({} recipients): {}", config.topology().requestsTopic(),
          messages.get(0).id(), messages.size(), e.toString());
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable",
          "Pub/Sub did not accept the message; retry with the same id", null);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable", "interrupted; retry with the same id", null);
      return;
    }
    ObjectNode answer = JsonCodec.object();
    answer.put("id", messages.get(0).id());
    if (sendRequest.fanOut()) {
      answer.put("recipients", messages.size());
    }
    JsonResponses.send(response, 202, answer);
  }

  private void presence(String userId, HttpResponse response) throws IOException {
    if (!Limits.USER_ID.matcher(userId).matches()) {
      JsonResponses.error(response, 400, "invalid_request", "not a valid user id", "userId");
      return;
    }
    try {
      Set<String> nodes = registry.liveNodesHolding(userId, clock.instant()).get(10, TimeUnit.SECONDS);
      ObjectNode answer = JsonCodec.object();
      answer.put("userId", userId);
      answer.put("online", !nodes.isEmpty());
      JsonResponses.send(response, 200, answer);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("presence lookup failed: {}", e.toString());
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable", "the registry did not answer", null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      JsonResponses.error(response, 503, "unavailable", "interrupted", null);
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

  static boolean isJson(String contentType) {
    String media = contentType.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
    return media.equals("application/json") || (media.startsWith("application/") && media.endsWith("+json"));
  }
}
