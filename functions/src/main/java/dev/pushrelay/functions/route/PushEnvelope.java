package dev.pushrelay.functions.route;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * The body Pub/Sub posts to a push endpoint. Production sets {@code deliveryAttempt} when the
 * subscription has a dead-letter policy; the emulator never does. {@code subscription} is the full name
 * of the subscription that pushed it ({@code ""} when the body names none).
 */
public record PushEnvelope(
    byte[] data, Map<String, String> attributes, String messageId, Instant publishTime,
    Optional<Integer> deliveryAttempt, String subscription) {

  public PushEnvelope {
    attributes = Map.copyOf(attributes);
  }

  /** An envelope that names no subscription. */
  public PushEnvelope(byte[] data, Map<String, String> attributes, String messageId, Instant publishTime,
      Optional<Integer> deliveryAttempt) {
    this(data, attributes, messageId, publishTime, deliveryAttempt, "");
  }

  /** Thrown when the body is not a push envelope at all. */
  public static final class MalformedEnvelopeException extends Exception {
    public MalformedEnvelopeException(String message) {
      super(message);
    }
  }

  public static PushEnvelope parse(byte[] body, Instant receivedAt) throws MalformedEnvelopeException {
    JsonNode root;
    try {
      root = JsonCodec.read(body);
    } catch (IOException e) {
      throw new MalformedEnvelopeException("not JSON");
    }
    JsonNode message = root.get("message");
    if (message == null || !message.isObject()) {
      throw new MalformedEnvelopeException("no message object");
    }
    JsonNode id = message.has("messageId") ? message.get("messageId") : message.get("message_id");
    if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
      throw new MalformedEnvelopeException("no messageId");
    }
    byte[] data;
    try {
      JsonNode d = message.get("data");
      data = d == null || d.isNull() ? new byte[0] : Base64.getDecoder().decode(d.asText());
    } catch (IllegalArgumentException e) {
      throw new MalformedEnvelopeException("data is not base64");
    }
    Map<String, String> attributes = new HashMap<>();
    JsonNode a = message.get("attributes");
    if (a != null && a.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        attributes.put(e.getKey(), e.getValue().asText());
      }
    }
    Instant published = receivedAt;
    JsonNode t = message.has("publishTime") ? message.get("publishTime") : message.get("publish_time");
    if (t != null && t.isTextual()) {
      try {
        published = Instant.parse(t.textValue());
      } catch (DateTimeParseException e) {
        // keep the receive time: only used when the sender gave no sentAt
      }
    }
    JsonNode attempt = root.get("deliveryAttempt");
    Optional<Integer> deliveryAttempt = attempt != null && attempt.canConvertToInt() && attempt.intValue() > 0
        ? Optional.of(attempt.intValue()) : Optional.empty();
    JsonNode subscription = root.get("subscription");
    return new PushEnvelope(data, attributes, id.textValue(), published, deliveryAttempt,
        subscription != null && subscription.isTextual() ? subscription.textValue() : "");
  }
}
