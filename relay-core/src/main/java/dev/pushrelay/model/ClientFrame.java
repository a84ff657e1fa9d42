package dev.pushrelay.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;

/**
 * A frame sent by a client: {@code ack}, {@code ping}, {@code publish} (upstream, to the backend) or
 * {@code auth} (a fresh token for the open socket).
 */
public sealed interface ClientFrame {
  record Ack(String id) implements ClientFrame {}

  record Ping() implements ClientFrame {}

  /**
   * A message for the backend: the client's own {@code id} (its retries repeat it), an {@code event} by
   * the send API's rules and any JSON {@code data}.
   */
  record Publish(String id, String event, JsonNode data) implements ClientFrame {}

  /** A fresh token for the open socket: it moves the socket's expiry on. The token is never logged. */
  record Auth(String token) implements ClientFrame {
    /** Never prints the token. */
    @Override
    public String toString() {
      return "Auth[token=…]";
    }
  }

  /** The longest token an auth frame may carry, as at the handshake. */
  int MAX_TOKEN_CHARS = 8192;

  /** The fields a publish frame may have; any other is refused, as the send API refuses unknown fields. */
  java.util.Set<String> PUBLISH_FIELDS = java.util.Set.of("type", "id", "event", "data");

  /** A client frame that breaks the contract; {@link #code()} goes into the error frame. */
  final class BadFrameException extends Exception {
    private final String code;

    public BadFrameException(String code, String message) {
      super(message);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  /** How an ack begins as clients write it ({@code JSON.stringify({type: 'ack', id})}); see {@link #parse}. */
  String ACK_AS_WRITTEN = "{\"type\":\"ack\",\"id\":\"";

  /**
   * The frame in {@code text}. An ack written exactly as clients write it, {@code {"type":"ack","id":"…"}}
   * with a message id (whose characters need no escape in JSON), is read without building a JSON tree: it
   * is one frame per message a client receives. Any other text, an ack written otherwise included, is read
   * as JSON, with the same outcome for the same frame.
   */
  static ClientFrame parse(String text) throws BadFrameException {
    if (text.startsWith(ACK_AS_WRITTEN) && text.endsWith("\"}")) {
      String id = text.substring(ACK_AS_WRITTEN.length(), text.length() - 2);
      if (Limits.MESSAGE_ID.matcher(id).matches()) {
        return new Ack(id);
      }
    }
    JsonNode root;
    try {
      root = JsonCodec.read(text);
    } catch (IOException e) {
      throw new BadFrameException("bad_frame", "frame is not valid JSON");
    }
    JsonNode type = root.get("type");
    if (!root.isObject() || type == null || !type.isTextual()) {
      throw new BadFrameException("bad_frame", "frame must be a JSON object with a string type");
    }
    switch (type.textValue()) {
      case "ping" -> {
        return new Ping();
      }
      case "ack" -> {
        JsonNode id = root.get("id");
        if (id == null || !id.isTextual() || !Limits.MESSAGE_ID.matcher(id.textValue()).matches()) {
          throw new BadFrameException("bad_frame", "ack needs the id of a message");
        }
        return new Ack(id.textValue());
      }
      case "publish" -> {
        return publish(root);
      }
      case "auth" -> {
        return auth(root);
      }
      default -> throw new BadFrameException("unknown_type", "unknown frame type");
    }
  }

  private static Auth auth(JsonNode root) throws BadFrameException {
    JsonNode token = root.get("token");
    if (root.size() != 2 || token == null || !token.isTextual() || token.textValue().isEmpty()
        || token.textValue().length() > MAX_TOKEN_CHARS) {
      throw new BadFrameException("bad_frame", "auth needs a token (a JWT of at most 8192 characters) and no other field");
    }
    return new Auth(token.textValue());
  }

  private static Publish publish(JsonNode root) throws BadFrameException {
    JsonNode id = root.get("id");
    if (id == null || !id.isTextual() || !Limits.UPSTREAM_ID.matcher(id.textValue()).matches()) {
      throw new BadFrameException("bad_frame", "publish needs an id of 1-128 visible ASCII characters");
    }
    for (java.util.Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!PUBLISH_FIELDS.contains(name)) {
        throw new BadFrameException("bad_frame", "publish has an unknown field: " + name);
      }
    }
    JsonNode event = root.get("event");
    if (event == null || !event.isTextual() || !Limits.EVENT.matcher(event.textValue()).matches()) {
      throw new BadFrameException("bad_frame", "publish needs an event of 1-64 characters of A-Z a-z 0-9 . _ : / -");
    }
    JsonNode data = root.get("data");
    if (data == null) {
      throw new BadFrameException("bad_frame", "publish needs data (any JSON, null included)");
    }
    if (JsonCodec.hasLoneSurrogate(data)) {
      throw new BadFrameException("bad_frame", "publish data holds a lone UTF-16 surrogate");
    }
    return new Publish(id.textValue(), event.textValue(), data);
  }

  /**
   * The id of a frame that looks like a publish, read without judging the rest: a publish refused
   * before it is parsed (rate limit, size) is still answered with its id. Empty when there is none.
   */
  static java.util.Optional<String> publishIdOf(String text) {
    try {
      JsonNode root = JsonCodec.read(text);
      JsonNode id = root.path("id");
      if ("publish".equals(root.path("type").asText()) && id.isTextual()
          && Limits.UPSTREAM_ID.matcher(id.textValue()).matches()) {
        return java.util.Optional.of(id.textValue());
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: no id to answer with
    }
    return java.util.Optional.empty();
  }
}
