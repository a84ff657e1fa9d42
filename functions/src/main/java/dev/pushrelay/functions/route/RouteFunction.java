package dev.pushrelay.functions.route;

import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.FunctionRuntime;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
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

  /** Used by the Functions Framework. */
  public RouteFunction() {
    this(new Router(FunctionRuntime.get().registry(), FunctionRuntime.get().mailbox(),
        FunctionRuntime.get().publisher(), FunctionRuntime.get().config().topology(), Clock.systemUTC()),
        Clock.systemUTC());
  }

  public RouteFunction(Router router, Clock clock) {
    this.router = router;
    this.clock = clock;
  }

  @Override
  public void service(HttpRequest request, HttpResponse response) throws IOException {
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
    try {
      RouteOutcome outcome = router.route(envelope).get(ROUTE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      response.setStatusCode(outcome.retry() ? 503 : 204);
      if (outcome.retry()) {
        response.appendHeader("Retry-After", "1");
      }
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      LOG.warn("routing pubsub message {} failed, Pub/Sub will retry it: {}", envelope.messageId(), cause.toString());
      response.setStatusCode(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      response.setStatusCode(503);
    }
  }
}
