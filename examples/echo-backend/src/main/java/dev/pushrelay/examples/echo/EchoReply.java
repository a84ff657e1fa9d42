package dev.pushrelay.examples.echo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * What the example backend answers to one message of the upstream topic: a client's publish whose
 * event is {@code echo} gets a send request to the same user (from the verified {@code user_id}
 * attribute) with the data sent back; anything else gets nothing. The reply's id is derived from the
 * user and the publish id, so that a publish the backend receives twice is echoed under one id, which
 * the client then drops as a repeat.
 */
record EchoReply(String userId, String body) {
  static final String EVENT = "echo";

  static Optional<EchoReply> to(Map<String, String> attributes, String data) {
    if (!"message".equals(attributes.get("type")) || !EVENT.equals(attributes.get("event"))) {
      return Optional.empty();
    }
    String user = attributes.get("user_id");
    JsonNode message;
    try {
      message = JsonCodec.read(data);
    } catch (java.io.IOException e) {
      return Optional.empty();
    }
    String publishId = message.path("id").asText("");
    if (user == null || user.isEmpty() || publishId.isEmpty()) {
      return Optional.empty();
    }
    ObjectNode reply = JsonCodec.object();
    reply.put("userId", user);
    reply.put("event", EVENT);
    reply.put("id", "echo-" + digest(user + "\n" + publishId));
    ObjectNode echoed = reply.putObject("data");
    echoed.put("replyTo", publishId);
    echoed.set("echo", message.get("data"));
    return Optional.of(new EchoReply(user, JsonCodec.write(reply)));
  }

  private static String digest(String text) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always there", e);
    }
  }
}
