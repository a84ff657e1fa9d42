package dev.pushrelay.model;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message to one user, as it travels on {@code relay-requests}, {@code relay-deliveries} and in
 * the mailbox. Its JSON is a send request with a single {@code userId}, an {@code id} and {@code sentAt}.
 * It carries its trace context ({@code trace}: the W3C {@code traceparent} and {@code tracestate} it was
 * accepted under) from hop to hop; that goes as Pub/Sub attributes and with its mailbox entry, never in
 * its JSON, and is not part of what the message is: two messages that differ only in it are equal.
 */
public record RelayMessage(String id, String userId, String event, String dataJson, Instant sentAt, int ttlSeconds,
    Priority priority, Map<String, String> trace) {

  /** A message with no trace context. */
  public RelayMessage(String id, String userId, String event, String dataJson, Instant sentAt, int ttlSeconds,
      Priority priority) {
    this(id, userId, event, dataJson, sentAt, ttlSeconds, priority, Map.of());
  }

  public RelayMessage {
    trace = trace == null ? Map.of() : Map.copyOf(trace);
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(event, "event");
    Objects.requireNonNull(sentAt, "sentAt");
    Objects.requireNonNull(priority, "priority");
    if (ttlSeconds < 1) {
      throw new IllegalArgumentException("ttlSeconds must be positive");
    }
  }

  /**
   * The order a socket is handed messages in: {@code high} priority first, then accept order
   * ({@code sentAt}, then id for messages of one instant). Order holds within a priority.
   */
  public static final java.util.Comparator<RelayMessage> DELIVERY_ORDER =
      java.util.Comparator.comparing((RelayMessage m) -> m.priority() != Priority.HIGH)
          .thenComparing(RelayMessage::sentAt).thenComparing(RelayMessage::id);

  /** The same message under the trace context {@code trace}. */
  public RelayMessage withTrace(Map<String, String> trace) {
    return new RelayMessage(id, userId, event, dataJson, sentAt, ttlSeconds, priority, trace);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RelayMessage m && id.equals(m.id) && userId.equals(m.userId) && event.equals(m.event)
        && Objects.equals(dataJson, m.dataJson) && sentAt.equals(m.sentAt) && ttlSeconds == m.ttlSeconds
        && priority == m.priority;
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, userId, event, dataJson, sentAt, ttlSeconds, priority);
  }

  public boolean high() {
    return priority == Priority.HIGH;
  }

  public Instant expiresAt() {
    return sentAt.plusSeconds(ttlSeconds);
  }

  public boolean expiredAt(Instant now) {
    return !now.isBefore(expiresAt());
  }

  /** Parses the canonical form; anything else, such as a fan-out, is invalid here. */
  public static RelayMessage parse(byte[] json) throws InvalidRequestException {
    SendRequest request = SendRequest.parse(json);
    if (request.fanOut() || request.id().isEmpty() || request.sentAt().isEmpty()) {
      throw new InvalidRequestException("body", "not a single relay message with id and sentAt");
    }
    List<RelayMessage> one = request.toMessages(() -> null, request.sentAt().get(), Limits.MAX_TTL_SECONDS);
    return one.get(0);
  }

  public String toJson() {
    StringWriter out = new StringWriter(96 + (dataJson == null ? 0 : dataJson.length()));
    try (JsonGenerator g = JsonCodec.mapper().getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("id", id);
      g.writeStringField("userId", userId);
      g.writeStringField("event", event);
      if (dataJson != null) {
        g.writeFieldName("data");
        g.writeRawValue(dataJson);
      }
      g.writeStringField("sentAt", sentAt.toString());
      g.writeNumberField("ttlSeconds", ttlSeconds);
      g.writeStringField("priority", priority.wireName());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
