package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkFirst;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.FunctionRuntime;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.functions.http.MetricsResponse;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
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
  private final ParkFirst parkFirst;
  private final Telemetry telemetry;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;

  /** Used by the Functions Framework: one instance per function instance. */
  public SendFunction() {
    this(FunctionRuntime.get(Part.SEND_FUNCTION));
  }

  private SendFunction(FunctionRuntime runtime) {
    this(runtime.config(), runtime.publisher(), runtime.registry(), runtime.mailbox(), Clock.systemUTC(),
        () -> UUID.randomUUID().toString(), runtime.telemetry());
  }

  public SendFunction(FunctionConfig config, RelayPublisher publisher, RegistryStore registry, Mailbox mailbox,
      Clock clock, Supplier<String> ids) {
    this(config, publisher, registry, mailbox, clock, ids, Telemetry.local("send-function"));
  }

  /** {@code telemetry} holds this function's instruments and answers {@code GET /metrics}. */
  public SendFunction(FunctionConfig config, RelayPublisher publisher, RegistryStore registry, Mailbox mailbox,
      Clock clock, Supplier<String> ids, Telemetry telemetry) {
    this.parkFirst = new ParkFirst(mailbox, publisher, clock);
    this.config = config;
    this.publisher = publisher;
    this.registry = registry;
    this.clock = clock;
    this.ids = ids;
    this.telemetry = telemetry;
    this.metrics = new RelayMetrics(telemetry.meter(), Part.SEND_FUNCTION);
    this.tracing = new MessageTracing(telemetry);
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
    } else if (path.startsWith(PRESENCE_PREFIX) && path.endsWith(PRESENCE_SUFFIX)
        && path.length() >= PRESENCE_PREFIX.length() + PRESENCE_SUFFIX.length()) {
      if (!request.getMethod().equals("GET")) {
        methodNotAllowed(response, "GET, OPTIONS");
        return;
      }
      presence(path.substring(PRESENCE_PREFIX.length(), path.length() - PRESENCE_SUFFIX.length()), response);
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

  private void send(HttpRequest request, HttpResponse response) throws IOException {
    String type = request.getContentType().orElse("");
    if (!isJson(type)) {
      JsonResponses.error(response, 415, "unsupported_media_type", "send application/json in UTF-8", null);
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
    if (sendRequest.tooManyCopies()) {
      JsonResponses.error(response, 413, "too_large", "a fan-out's copies (" + sendRequest.userIds().size()
          + " recipients x " + sendRequest.copyBytes() / sendRequest.userIds().size() + " bytes of data) pass "
          + Limits.MAX_FANOUT_COPY_BYTES + " bytes; send to fewer users at a time or less data", "userIds");
      return;
    }
    if (sendRequest.sentAt().isPresent()) {
      // the accept stamp orders a user's messages: only the relay sets it
      JsonResponses.error(response, 400, "invalid_request",
          "is set by the relay when it accepts the message", "sentAt");
      return;
    }
    List<RelayMessage> messages = sendRequest.toMessages(ids, clock.instant(), config.topology().defaultTtlSeconds());
    // One trace per message (a fan-out's copies share its id and its trace), continuing the caller's.
    Span span = tracing.start("relay.send", SpanKind.PRODUCER, traceHeaders(request), messages.get(0).id());
    Map<String, String> trace = MessageTracing.attributes(span);
    CompletableFuture<Void> published = sendRequest.fanOut() || !config.directRoute()
        ? CompletableFuture.allOf(messages.stream().map(m -> publisher.request(m, trace))
            .toArray(CompletableFuture[]::new))
        : publishDirect(messages.get(0), trace);
    try {
      published.get(PUBLISH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      span.end();
    } catch (ExecutionException | TimeoutException e) {
      span.setStatus(StatusCode.ERROR, "publish failed");
      span.end();
      try (var log = MessageTracing.logContext(span)) {
        LOG.warn("Pub/Sub did not accept message {} ({} recipients): {}",
            messages.get(0).id(), messages.size(), e.toString());
      }
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable",
          "Pub/Sub did not accept the message; retry with the same id", null);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      span.setStatus(StatusCode.ERROR, "interrupted");
      span.end();
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable", "interrupted; retry with the same id", null);
      return;
    }
    metrics.accepted(messages.size());
    ObjectNode answer = JsonCodec.object();
    answer.put("id", messages.get(0).id());
    if (sendRequest.fanOut()) {
      answer.put("recipients", messages.size());
    }
    JsonResponses.send(response, 202, answer);
  }

  /**
   * The direct route: when the registry shows live nodes holding the user, the message goes straight
   * to them (one Pub/Sub hop instead of two, no route function); otherwise, or when the registry does
   * not answer in time, it takes the retry path through {@code relay-requests}, parked first when the
   * registry shows no live node ({@link ParkFirst}). A node whose socket went meanwhile re-routes its
   * copy to that path, so nothing accepted depends on this lookup.
   */
  private CompletableFuture<Void> publishDirect(RelayMessage m, Map<String, String> trace) {
    return registry.liveNodesHolding(m.userId(), clock.instant())
        .orTimeout(RegistryStore.ROUTE_LOOKUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .handle((nodes, e) -> {
          if (e != null) {
            LOG.warn("registry lookup for message {} failed, taking the retry path: {}", m.id(), e.toString());
            return publisher.request(m, trace).thenApply(id -> (Void) null);
          }
          if (nodes.isEmpty()) {
            return parkFirst.park(m, trace, Map.of());
          }
          LOG.debug("message {} for user {} goes straight to nodes {}", m.id(), m.userId(), nodes);
          return CompletableFuture.allOf(nodes.stream().map(node -> publisher.delivery(node, m, trace))
              .toArray(CompletableFuture[]::new)).thenRun(() -> metrics.routeAttempts(1))
              .exceptionallyCompose(failed -> {
                // a node retired between the lookup and the publish (its topic is gone): the retry path
                LOG.info("direct route of message {} failed, taking the retry path: {}", m.id(), failed.toString());
                return publisher.request(m, trace).thenApply(id -> (Void) null);
              });
        })
        .thenCompose(published -> published);
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

  /** The caller's W3C trace context headers, if any. */
  private static Map<String, String> traceHeaders(HttpRequest request) {
    Map<String, String> headers = new java.util.HashMap<>();
    request.getFirstHeader(MessageTracing.TRACEPARENT).ifPresent(v -> headers.put(MessageTracing.TRACEPARENT, v));
    request.getFirstHeader(MessageTracing.TRACESTATE).ifPresent(v -> headers.put(MessageTracing.TRACESTATE, v));
    return headers;
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

  /** JSON, and UTF-8 if a charset is named at all (RFC 8259 allows no other). */
  static boolean isJson(String contentType) {
    String[] parts = contentType.split(";");
    String media = parts[0].trim().toLowerCase(java.util.Locale.ROOT);
    for (int i = 1; i < parts.length; i++) {
      String[] param = parts[i].split("=", 2);
      if (param[0].trim().equalsIgnoreCase("charset")) {
        String charset = param.length < 2 ? "" : param[1].trim().replace("\"", "");
        if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
          return false;
        }
      }
    }
    return media.equals("application/json") || (media.startsWith("application/") && media.endsWith("+json"));
  }
}
