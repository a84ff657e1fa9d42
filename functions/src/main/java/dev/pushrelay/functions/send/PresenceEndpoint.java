package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Limits;
import dev.pushrelay.registry.RegistryStore;
import java.io.IOException;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code GET /v1/users/{userId}/presence}: whether a live node holds a socket of the user. */
final class PresenceEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(PresenceEndpoint.class);

  private final RegistryStore registry;
  private final Clock clock;
  private final PresenceCallers callers;

  PresenceEndpoint(RegistryStore registry, Clock clock, PresenceCallers callers) {
    this.registry = registry;
    this.clock = clock;
    this.callers = callers;
  }

  /** Answers for {@code userId}, to the caller of {@code request} if it may ask. */
  void answer(String userId, HttpRequest request, HttpResponse response) throws IOException {
    if (!callers.allow(request.getFirstHeader("X-Serverless-Authorization"),
        request.getFirstHeader("Authorization"))) {
      JsonResponses.error(response, 403, "forbidden", "this caller may not ask for presence: "
          + "RELAY_PRESENCE_CALLERS (Terraform: presence_callers) names the accounts that may", null);
      return;
    }
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
}
