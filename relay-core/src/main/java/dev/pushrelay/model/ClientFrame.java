package dev.pushrelay.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;

/** A frame sent by a client: {@code ack} or {@code ping}. */
public sealed interface ClientFrame {
  record Ack(String id) implements ClientFrame {}

  record Ping() implements ClientFrame {}

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

  static ClientFrame parse(String text) throws BadFrameException {
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
      default -> throw new BadFrameException("unknown_type", "unknown frame type");
    }
  }
}
