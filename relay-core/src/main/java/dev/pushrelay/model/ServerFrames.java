package dev.pushrelay.model;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Builds the text frames the server sends; one JSON object per frame. */
public final class ServerFrames {
  /** Always six fraction digits in UTC: two stamps compare as text as they do as instants. */
  private static final DateTimeFormatter ACCEPT_STAMP =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  private ServerFrames() {}

  /**
   * A message's {@code sentAt} as a frame carries it: the relay's stamp at acceptance, to the
   * microsecond. A client compares two as strings to see a message older than one it already has.
   */
  public static String acceptStamp(Instant sentAt) {
    return ACCEPT_STAMP.format(sentAt);
  }

  public static String connectionEstablished(String connectionId, String userId, String nodeId, Instant serverTime) {
    return build(g -> {
      g.writeStringField("type", "connection_established");
      g.writeStringField("connectionId", connectionId);
      g.writeStringField("userId", userId);
      g.writeStringField("nodeId", nodeId);
      g.writeStringField("serverTime", serverTime.toString());
      g.writeStringField("status", "ready");
    }, 160);
  }

  public static String message(RelayMessage m) {
    return build(g -> {
      g.writeStringField("type", "message");
      g.writeStringField("id", m.id());
      g.writeStringField("event", m.event());
      g.writeFieldName("data");
      if (m.dataJson() == null) {
        g.writeNull();
      } else {
        g.writeRawValue(m.dataJson());
      }
      g.writeStringField("sentAt", acceptStamp(m.sentAt()));
      if (m.high()) {
        // only high is written: a client orders (and marks late) within a priority
        g.writeStringField("priority", "high");
      }
    }, 96 + (m.dataJson() == null ? 0 : m.dataJson().length()));
  }

  public static String error(String code, String message) {
    return build(g -> {
      g.writeStringField("type", "error");
      g.writeStringField("code", code);
      g.writeStringField("message", message);
    }, 96);
  }

  /** The refusal of one upstream publish, with the client's id: it may send it again with that id. */
  public static String error(String code, String id, String message) {
    return build(g -> {
      g.writeStringField("type", "error");
      g.writeStringField("code", code);
      g.writeStringField("id", id);
      g.writeStringField("message", message);
    }, 128 + id.length());
  }

  /** An upstream publish that Pub/Sub has taken: the backend will get it. */
  public static String accepted(String id) {
    return build(g -> {
      g.writeStringField("type", "accepted");
      g.writeStringField("id", id);
    }, 32 + id.length());
  }

  /** A token renewed on the open socket: the socket now lives until {@code expiresAt}. */
  public static String authOk(Instant expiresAt) {
    return build(g -> {
      g.writeStringField("type", "auth_ok");
      g.writeStringField("expiresAt", expiresAt.toString());
    }, 64);
  }

  /** The socket's catch-up is written: {@code count} messages from the mailbox came before this frame. */
  public static String caughtUp(int count) {
    return build(g -> {
      g.writeStringField("type", "caught_up");
      g.writeNumberField("count", count);
    }, 40);
  }

  public static String pong(Instant serverTime) {
    return build(g -> {
      g.writeStringField("type", "pong");
      g.writeStringField("serverTime", serverTime.toString());
    }, 64);
  }

  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }

  private static String build(Fields fields, int sizeHint) {
    StringWriter out = new StringWriter(sizeHint);
    try (JsonGenerator g = JsonCodec.mapper().getFactory().createGenerator(out)) {
      g.writeStartObject();
      fields.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
