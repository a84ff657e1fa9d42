package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.functions.http.BodyReader;
import dev.pushrelay.functions.http.JsonResponses;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Limits;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.Revocations;
import dev.pushrelay.routing.LiveRoute;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/users/{userId}/disconnect}: closes every socket of the user, on every node, with 4001.
 * With {@code {"revokeIssuedBefore": "<RFC 3339>"}} the user's tokens issued before that instant are
 * refused from then on (handshakes 401, renewals {@code auth_failed}); the revocation is written first,
 * so a socket that registers after the lookup below passed the revocation check after it. Then the user's
 * live nodes are read from the registry, by a read of its own (never one shared with a route under way,
 * which may have started before the revocation), and each gets a control delivery
 * on its own topic, keyed by the user; the node closes the user's sockets when it takes it. Answered 202
 * once the revocation is stored and Pub/Sub took every order; 503 with Retry-After if not (the call may
 * be repeated as it is).
 */
final class DisconnectEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(DisconnectEndpoint.class);
  private static final int MAX_BODY_BYTES = 1024;
  private static final long CALL_TIMEOUT_SECONDS = 10;
  static final String REVOKE_FIELD = "revokeIssuedBefore";

  private final LiveRoute live;
  private final RelayPublisher publisher;
  private final Revocations revocations;
  private final Clock clock;

  DisconnectEndpoint(LiveRoute live, RelayPublisher publisher, Revocations revocations, Clock clock) {
    this.live = live;
    this.publisher = publisher;
    this.revocations = revocations;
    this.clock = clock;
  }

  /** A request that breaks the contract: 400, or 413/415 for the body itself. */
  private static final class Refusal extends Exception {
    final int status;
    final String code;
    final String field;

    Refusal(int status, String code, String message, String field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  void disconnect(String userId, HttpRequest request, HttpResponse response) throws IOException {
    Optional<Instant> revokeBefore;
    try {
      if (!Limits.USER_ID.matcher(userId).matches() || !Limits.isDocumentId(userId)) {
        throw new Refusal(400, "invalid_request", "not a valid user id", "userId");
      }
      revokeBefore = revokeBefore(request);
    } catch (Refusal r) {
      JsonResponses.error(response, r.status, r.code, r.getMessage(), r.field);
      return;
    }
    Set<String> nodes;
    try {
      if (revokeBefore.isPresent()) {
        revocations.revoke(userId, revokeBefore.get()).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }
      nodes = live.liveNodes(userId).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      CompletableFuture.allOf(nodes.stream().map(node -> publisher.disconnect(node, userId))
          .toArray(CompletableFuture[]::new)).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("a disconnect could not be carried out: {}", e.toString());
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable",
          "the registry or Pub/Sub did not answer; send the same request again", null);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      response.appendHeader("Retry-After", "1");
      JsonResponses.error(response, 503, "unavailable", "interrupted; send the same request again", null);
      return;
    }
    LOG.info("disconnect ordered on {} nodes{}", nodes.size(), revokeBefore.isPresent() ? ", with a revocation" : "");
    ObjectNode answer = JsonCodec.object();
    answer.put("userId", userId);
    answer.put("nodes", nodes.size());
    revokeBefore.ifPresent(t -> answer.put(REVOKE_FIELD, t.toString()));
    JsonResponses.send(response, 202, answer);
  }

  /** The optional body's instant: RFC 3339 with an offset, not after now. */
  private Optional<Instant> revokeBefore(HttpRequest request) throws IOException, Refusal {
    Optional<byte[]> body = BodyReader.read(request, MAX_BODY_BYTES);
    if (body.isEmpty()) {
      throw new Refusal(413, "too_large", "the body is larger than " + MAX_BODY_BYTES + " bytes", null);
    }
    if (new String(body.get(), StandardCharsets.UTF_8).isBlank()) {
      return Optional.empty();
    }
    if (!SendEndpoint.isJson(request.getContentType().orElse(""))) {
      throw new Refusal(415, "unsupported_media_type", "send application/json in UTF-8", null);
    }
    JsonNode root;
    try {
      root = JsonCodec.read(body.get());
    } catch (IOException e) {
      throw new Refusal(400, "invalid_request", "the body is not valid JSON", null);
    }
    if (!root.isObject()) {
      throw new Refusal(400, "invalid_request", "the body must be a JSON object", null);
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals(REVOKE_FIELD)) {
        throw new Refusal(400, "invalid_request", "unknown field", name);
      }
    }
    JsonNode value = root.get(REVOKE_FIELD);
    if (value == null || value.isNull()) {
      return Optional.empty();
    }
    Instant at;
    try {
      if (!value.isTextual()) {
        throw new DateTimeParseException("not a string", value.toString(), 0);
      }
      at = OffsetDateTime.parse(value.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new Refusal(400, "invalid_request", "must be an RFC 3339 time with an offset, e.g. 2026-01-01T00:00:00Z",
          REVOKE_FIELD);
    }
    if (at.isAfter(clock.instant())) {
      throw new Refusal(400, "invalid_request", "must not be in the future", REVOKE_FIELD);
    }
    return Optional.of(at);
  }
}
