package dev.pushrelay.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The one configured JSON mapper: bounded nesting and sizes, strict duplicates, nothing after the
 * document, strict UTF-8, and numbers kept exactly as sent (no rounding through {@code double}, no
 * {@code 1e999} turned into {@code "Infinity"}). Thread-safe.
 */
public final class JsonCodec {
  /** Deepest nesting accepted in any inbound JSON. */
  public static final int MAX_DEPTH = 32;
  /** Longest number literal accepted, in characters. */
  public static final int MAX_NUMBER_LENGTH = 64;

  private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder()
              .maxNestingDepth(MAX_DEPTH)
              .maxStringLength(1 << 20)
              .maxNumberLength(MAX_NUMBER_LENGTH)
              .build())
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build())
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
      .build();

  private JsonCodec() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  /**
   * Parses untrusted bytes, which must be UTF-8 (RFC 8259; no guessing of UTF-16 or UTF-32). Any
   * encoding, syntax or limit problem is an {@link IOException}: a
   * {@link java.nio.charset.CharacterCodingException} for bytes that are not UTF-8, a
   * {@link com.fasterxml.jackson.core.exc.StreamConstraintsException} for a broken limit.
   */
  public static JsonNode read(byte[] bytes) throws IOException {
    if (plainAscii(bytes)) {
      // the usual case, every delivery and ack frame: UTF-8 as it stands, read without a copy into a String
      return tree(() -> MAPPER.readTree(bytes));
    }
    String text = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString();
    return read(text);
  }

  /** Parses untrusted text; any syntax or limit problem is an {@link IOException}. */
  public static JsonNode read(String text) throws IOException {
    return tree(() -> MAPPER.readTree(text));
  }

  /** One whole document, read by the mapper. */
  private interface TreeRead {
    JsonNode read() throws IOException;
  }

  private static JsonNode tree(TreeRead readTree) throws IOException {
    JsonNode node;
    try {
      node = readTree.read();
    } catch (NumberFormatException | ArithmeticException e) {
      // a number literal within the length limit whose exponent overflows BigDecimal
      throw new IOException("number out of range", e);
    }
    if (node == null || node.isMissingNode()) {
      throw new IOException("empty JSON document");
    }
    return node;
  }

  /**
   * Bytes 1-127 only: ASCII, so UTF-8 with nothing to check, and without the zero bytes from which the
   * parser would guess UTF-16 or UTF-32.
   */
  private static boolean plainAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b <= 0) {
        return false;
      }
    }
    return true;
  }

  /** True when a string or field name anywhere in {@code node} holds a lone UTF-16 surrogate. */
  public static boolean hasLoneSurrogate(JsonNode node) {
    if (node.isTextual()) {
      return hasLoneSurrogate(node.textValue());
    }
    if (node.isObject()) {
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        if (hasLoneSurrogate(field.getKey()) || hasLoneSurrogate(field.getValue())) {
          return true;
        }
      }
    } else if (node.isArray()) {
      for (JsonNode each : node) {
        if (hasLoneSurrogate(each)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean hasLoneSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return true;
        }
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The relay's error answer, on the HTTP API and at the socket handshake alike:
   * {@code {"error": {"code": …, "message": …, "field": …}}}; {@code field} may be null. It never repeats
   * anything of the request.
   */
  public static ObjectNode error(String code, String message, String field) {
    ObjectNode body = object();
    ObjectNode error = body.putObject("error");
    error.put("code", code);
    error.put("message", message);
    if (field != null) {
      error.put("field", field);
    }
    return body;
  }
}
