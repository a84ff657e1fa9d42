package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.mailbox.IdUse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.SendRequest;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/messages}, the send use case: a JSON send request of at most 256 KiB, checked, is
 * answered 202 only once Pub/Sub has accepted every copy, on the direct route or the retry path.
 */
final class SendEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(SendEndpoint.class);
  private static final long PUBLISH_TIMEOUT_SECONDS = 10;
  /** How long the record of a sender's id may take before the message goes on unchecked. */
  private static final long ID_RECORD_TIMEOUT_MILLIS = 2_000;

  private final FunctionConfig config;
  private final RelayPublisher publisher;
  private final DirectRoute directRoute;
  private final Clock clock;
  private final Supplier<String> ids;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;
  private final Mailbox mailbox;

  SendEndpoint(FunctionConfig config, RelayPublisher publisher, DirectRoute directRoute, Clock clock,
      Supplier<String> ids, RelayMetrics metrics, MessageTracing tracing, Mailbox mailbox) {
    this.mailbox = mailbox;
    this.config = config;
    this.publisher = publisher;
    this.directRoute = directRoute;
    this.clock = clock;
    this.ids = ids;
    this.metrics = metrics;
    this.tracing = tracing;
  }

  void send(HttpRequest request, HttpResponse response) throws IOException {
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
    List<RelayMessage> accepted = sendRequest.toMessages(ids, clock.instant(), config.topology().defaultTtlSeconds());
    boolean direct = !sendRequest.fanOut() && config.directRoute();
    // the registry lookup runs beside the id's record: a send waits for the slower of the two, not both
    CompletableFuture<Set<String>> lookup = direct ? directRoute.lookUp(accepted.get(0).userId()) : null;
    if (idReused(sendRequest, accepted.get(0))) {
      JsonResponses.error(response, 409, "id_reused", "this user already has a message of this id with other "
          + "content; give each message an id of its own (a retry of the same message may keep its id)", "id");
      return;
    }
    // One trace per message (a fan-out's copies share its id and its trace), continuing the caller's.
    Span span = tracing.start("relay.send", SpanKind.PRODUCER, traceHeaders(request), accepted.get(0).id());
    Map<String, String> trace = MessageTracing.attributes(span);
    List<RelayMessage> messages = accepted.stream().map(m -> m.withTrace(trace)).toList();
    CompletableFuture<Void> published = direct
        ? directRoute.publish(messages.get(0), lookup)
        : CompletableFuture.allOf(messages.stream().map(m -> publisher.request(m, Map.of()))
            .toArray(CompletableFuture[]::new));
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
   * Whether the sender's own id was given to another message of this user before (one that is not this
   * one's retry): the relay would take this one for a repeat and drop it. A fan-out's id is not recorded
   * (it would cost a write per recipient). A record that cannot be made in time lets the message go on.
   */
  private boolean idReused(SendRequest request, RelayMessage m) {
    if (request.id().isEmpty() || request.fanOut()) {
      return false;
    }
    try {
      return mailbox.recordId(m.userId(), m.id(), request.fingerprint(), m.expiresAt())
          .get(ID_RECORD_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) == IdUse.OTHER_CONTENT;
    } catch (ExecutionException | TimeoutException e) {
      LOG.info("the id of message {} could not be recorded, it goes on unchecked: {}", m.id(), e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The caller's W3C trace context headers, if any. */
  private static Map<String, String> traceHeaders(HttpRequest request) {
    Map<String, String> headers = new java.util.HashMap<>();
    request.getFirstHeader(MessageTracing.TRACEPARENT).ifPresent(v -> headers.put(MessageTracing.TRACEPARENT, v));
    request.getFirstHeader(MessageTracing.TRACESTATE).ifPresent(v -> headers.put(MessageTracing.TRACESTATE, v));
    return headers;
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
