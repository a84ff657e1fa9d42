package dev.pushrelay.model;

import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A send request as the contract defines it: the body of {@code POST /v1/messages} and the data of
 * a message published straight to {@code relay-requests}.
 *
 * @param userIds the recipients, at least one; {@code fanOut} tells whether the sender used {@code userIds}
 * @param dataJson the {@code data} value as JSON text ({@code null} when absent)
 * @param ttlSeconds sender-set time to live, if any
 * @param sentAt when the relay first accepted it, if already set
 */
public record SendRequest(
    List<String> userIds,
    boolean fanOut,
    String event,
    String dataJson,
    Optional<String> id,
    Optional<Integer> ttlSeconds,
    Priority priority,
    Optional<Instant> sentAt) {

  private static final Set<String> FIELDS =
      Set.of("userId", "userIds", "event", "data", "id", "ttlSeconds", "priority", "sentAt");

  public SendRequest {
    userIds = List.copyOf(userIds);
    if (userIds.isEmpty()) {
      throw new IllegalArgumentException("at least one user id");
    }
  }

  /** Parses and validates untrusted bytes. */
  public static SendRequest parse(byte[] body) throws InvalidRequestException {
    if (body.length > Limits.MAX_BODY_BYTES) {
      throw new InvalidRequestException("body", "larger than " + Limits.MAX_BODY_BYTES + " bytes");
    }
    JsonNode root;
    try {
      root = JsonCodec.read(body);
    } catch (CharacterCodingException e) {
      throw new InvalidRequestException("body", "not valid UTF-8");
    } catch (StreamConstraintsException e) {
      throw new InvalidRequestException("body", "nested deeper than " + JsonCodec.MAX_DEPTH
          + " levels or holds a number longer than " + JsonCodec.MAX_NUMBER_LENGTH + " characters");
    } catch (IOException e) {
      throw new InvalidRequestException("body", "not valid JSON");
    }
    if (!root.isObject()) {
      throw new InvalidRequestException("body", "must be a JSON object");
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new InvalidRequestException(safeName(name), "unknown field");
      }
    }
    boolean fanOut = root.has("userIds");
    if (fanOut == root.has("userId")) {
      throw new InvalidRequestException("userId", "give exactly one of userId or userIds");
    }
    List<String> users = fanOut ? userIds(root.get("userIds")) : List.of(userId(root.get("userId"), "userId"));
    String event = text(root.get("event"), "event", true);
    if (!Limits.EVENT.matcher(event).matches()) {
      throw new InvalidRequestException("event", "must be 1-64 characters of A-Z a-z 0-9 . _ : / -");
    }
    String data = null;
    JsonNode dataNode = root.get("data");
    if (dataNode != null) {
      if (JsonCodec.hasLoneSurrogate(dataNode)) {
        throw new InvalidRequestException("data", "holds a string that is not valid Unicode (a lone surrogate)");
      }
      data = JsonCodec.write(dataNode);
      // a char is at most 3 bytes of UTF-8 (a pair of surrogates, 4): only a long text is counted
      if (data.length() * 3L > Limits.MAX_DATA_BYTES
          && data.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_DATA_BYTES) {
        throw new InvalidRequestException("data", "larger than " + Limits.MAX_DATA_BYTES + " bytes");
      }
    }
    Optional<String> id = Optional.empty();
    if (root.has("id")) {
      String value = text(root.get("id"), "id", true);
      if (!Limits.MESSAGE_ID.matcher(value).matches() || !Limits.isDocumentId(value)) {
        throw new InvalidRequestException("id", "must be 1-128 characters of A-Z a-z 0-9 . _ : + = -");
      }
      id = Optional.of(value);
    }
    Optional<Integer> ttl = Optional.empty();
    if (root.has("ttlSeconds")) {
      JsonNode t = root.get("ttlSeconds");
      if (!t.isIntegralNumber() || !t.canConvertToInt()
          || t.intValue() < 1 || t.intValue() > Limits.MAX_TTL_SECONDS) {
        throw new InvalidRequestException("ttlSeconds", "must be a whole number from 1 to " + Limits.MAX_TTL_SECONDS);
      }
      ttl = Optional.of(t.intValue());
    }
    Priority priority = Priority.NORMAL;
    if (root.has("priority")) {
      String p = text(root.get("priority"), "priority", true);
      priority = switch (p) {
        case "normal" -> Priority.NORMAL;
        case "high" -> Priority.HIGH;
        default -> throw new InvalidRequestException("priority", "must be \"normal\" or \"high\"");
      };
    }
    Optional<Instant> sentAt = Optional.empty();
    if (root.has("sentAt")) {
      try {
        sentAt = Optional.of(IsoInstants.parse(text(root.get("sentAt"), "sentAt", true)));
      } catch (DateTimeParseException e) {
        throw new InvalidRequestException("sentAt", "must be an ISO-8601 instant");
      }
    }
    return new SendRequest(users, fanOut, event, data, id, ttl, priority, sentAt);
  }

  /** What the fan-out's copies of {@code data} weigh together: recipients × its UTF-8 bytes. */
  /**
   * What a message's content is, for telling a sender's retry (the same) from another message under the
   * same id: a SHA-256 over the event, the data, the priority and the time to live, in hex.
   */
  public String fingerprint() {
    try {
      java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
      String content = event + "\n" + dataJson + "\n" + priority + "\n" + ttlSeconds.map(String::valueOf).orElse("");
      return java.util.HexFormat.of().formatHex(sha.digest(content.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  public long copyBytes() {
    return (long) userIds.size() * (dataJson == null ? 0 : dataJson.getBytes(StandardCharsets.UTF_8).length);
  }

  /** True when the copies pass {@link Limits#MAX_FANOUT_COPY_BYTES}. */
  public boolean tooManyCopies() {
    return copyBytes() > Limits.MAX_FANOUT_COPY_BYTES;
  }

  /**
   * One message per recipient. All recipients share one id: the sender's, else {@code newId}'s.
   * {@code sentAt} keeps an earlier acceptance time, else {@code now}.
   */
  public List<RelayMessage> toMessages(Supplier<String> newId, Instant now, int defaultTtlSeconds) {
    String messageId = id.orElseGet(newId);
    Instant accepted = sentAt.orElse(now);
    int ttl = ttlSeconds.orElse(defaultTtlSeconds);
    List<RelayMessage> out = new ArrayList<>(userIds.size());
    for (String user : userIds) {
      out.add(new RelayMessage(messageId, user, event, dataJson, accepted, ttl, priority));
    }
    return out;
  }

  private static List<String> userIds(JsonNode node) throws InvalidRequestException {
    if (node == null || !node.isArray()) {
      throw new InvalidRequestException("userIds", "must be a list of user ids");
    }
    if (node.isEmpty() || node.size() > Limits.MAX_RECIPIENTS) {
      throw new InvalidRequestException("userIds", "must hold 1 to " + Limits.MAX_RECIPIENTS + " user ids");
    }
    Set<String> users = new LinkedHashSet<>();
    for (JsonNode each : node) {
      if (!users.add(userId(each, "userIds"))) {
        throw new InvalidRequestException("userIds", "holds a user id twice");
      }
    }
    return List.copyOf(users);
  }

  private static String userId(JsonNode node, String field) throws InvalidRequestException {
    String value = text(node, field, true);
    if (!Limits.USER_ID.matcher(value).matches() || !Limits.isDocumentId(value)) {
      throw new InvalidRequestException(field, "user ids are 1-128 characters of A-Z a-z 0-9 . _ : @ | + = -");
    }
    return value;
  }

  private static String text(JsonNode node, String field, boolean required) throws InvalidRequestException {
    if (node == null || node.isNull()) {
      if (required) {
        throw new InvalidRequestException(field, "is required");
      }
      return null;
    }
    if (!node.isTextual()) {
      throw new InvalidRequestException(field, "must be a string");
    }
    return node.textValue();
  }

  /** Field names from the request are echoed in errors only when they are plain identifiers. */
  private static String safeName(String name) {
    return name.matches("[A-Za-z0-9_]{1,64}") ? name : "(unnamed field)";
  }
}
