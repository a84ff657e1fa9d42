package dev.pushrelay.functions.route;

import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.FunctionRuntime;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.functions.http.MetricsResponse;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.util.HashMap;
import java.util.Map;
import dev.pushrelay.model.Limits;
import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The push endpoint of the retry subscription {@code relay-requests-router}. A 2xx answer acks the
 * message; anything else makes Pub/Sub retry it with the subscription's exponential backoff.
 */
public final class RouteFunction implements HttpFunction {
  private static final Logger LOG = LoggerFactory.getLogger(RouteFunction.class);
  private static final long ROUTE_TIMEOUT_SECONDS = 20;

  private final Router router;
  private final Clock clock;
  private final Telemetry telemetry;
  private final MessageTracing tracing;

  /** Used by the Functions Framework. */
  public RouteFunction() {
    this(FunctionRuntime.get(Part.ROUTE_FUNCTION));
  }

  private RouteFunction(FunctionRuntime runtime) {
    this(new Router(runtime.registry(), runtime.mailbox(), runtime.publisher(), runtime.config().topology(),
        Clock.systemUTC(), runtime.metrics()), Clock.systemUTC(), runtime.telemetry());
  }

  public RouteFunction(Router router, Clock clock) {
    this(router, clock, Telemetry.local("route-function"));
  }

  /** {@code telemetry} answers {@code GET /metrics} on this function's port. */
  public RouteFunction(Router router, Clock clock, Telemetry telemetry) {
    this.router = router;
    this.clock = clock;
    this.telemetry = telemetry;
    this.tracing = new MessageTracing(telemetry);
  }

  @Override
  public void service(HttpRequest request, HttpResponse response) throws IOException {
    if (MetricsResponse.asked(request)) {
      MetricsResponse.send(response, telemetry);
      return;
    }
    if (!request.getMethod().equals("POST")) {
      response.appendHeader("Allow", "POST");
      JsonResponses.error(response, 405, "method_not_allowed", "allowed: POST", null);
      return;
    }
    // An envelope carries base64 data: a third larger than the largest request, plus its wrapping.
    Optional<byte[]> body = BodyReader.read(request, Limits.MAX_BODY_BYTES * 2);
    if (body.isEmpty()) {
      JsonResponses.error(response, 413, "too_large", "push envelope too large", null);
      return;
    }
    PushEnvelope envelope;
    try {
      envelope = PushEnvelope.parse(body.get(), clock.instant());
    } catch (PushEnvelope.MalformedEnvelopeException e) {
      JsonResponses.error(response, 400, "invalid_envelope", "not a Pub/Sub push envelope: " + e.getMessage(), null);
      return;
    }
    // Each attempt is a span in the message's trace; what it publishes (deliveries, dead letters,
    // fan-out copies) carries this span's context onwards.
    Span span = tracing.start("relay.route", SpanKind.CONSUMER, envelope.attributes(),
        envelope.attributes().getOrDefault(dev.pushrelay.model.MessageAttributes.MESSAGE_ID, envelope.messageId()));
    Map<String, String> attributes = new HashMap<>(envelope.attributes());
    attributes.putAll(MessageTracing.attributes(span));
    envelope = new PushEnvelope(envelope.data(), attributes, envelope.messageId(), envelope.publishTime(),
        envelope.deliveryAttempt());
    long started = System.nanoTime();
    try (var log = MessageTracing.logContext(span)) {
      try {
        RouteOutcome outcome = router.route(envelope).get(ROUTE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        span.setAttribute(MessageTracing.OUTCOME, outcome.name().toLowerCase(java.util.Locale.ROOT));
        LOG.debug("pubsub message {} (message {}) routed: {} in {} ms", envelope.messageId(),
            envelope.attributes().get(dev.pushrelay.model.MessageAttributes.MESSAGE_ID), outcome,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        response.setStatusCode(outcome.retry() ? 503 : 204);
        if (outcome.retry()) {
          response.appendHeader("Retry-After", "1");
        }
      } catch (ExecutionException | TimeoutException e) {
        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        span.setStatus(StatusCode.ERROR, cause.toString());
        LOG.warn("routing pubsub message {} failed, Pub/Sub will retry it: {}", envelope.messageId(), cause.toString());
        response.setStatusCode(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        response.setStatusCode(503);
      } finally {
        span.end();
      }
    }
  }
}
