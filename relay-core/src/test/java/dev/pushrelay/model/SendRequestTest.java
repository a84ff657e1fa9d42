package dev.pushrelay.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SendRequestTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  private static SendRequest parse(String json) throws InvalidRequestException {
    return SendRequest.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void singleUserBecomesOneMessageWithAFreshId() throws Exception {
    SendRequest r = parse("{\"userId\":\"u1\",\"event\":\"agent_update\",\"data\":{\"step\":3}}");
    List<RelayMessage> messages = r.toMessages(() -> "generated", NOW, 3600);
    assertEquals(1, messages.size());
    RelayMessage m = messages.get(0);
    assertEquals("generated", m.id());
    assertEquals("u1", m.userId());
    assertEquals("{\"step\":3}", m.dataJson());
    assertEquals(NOW.plusSeconds(3600), m.expiresAt());
  }

  @Test
  void senderIdAndTtlAreKeptAndFanOutSharesTheId() throws Exception {
    SendRequest r = parse("{\"userIds\":[\"a\",\"b\"],\"event\":\"e\",\"id\":\"mine-1\",\"ttlSeconds\":5,"
        + "\"priority\":\"high\"}");
    List<RelayMessage> messages = r.toMessages(() -> "unused", NOW, 3600);
    assertEquals(List.of("a", "b"), messages.stream().map(RelayMessage::userId).toList());
    assertTrue(messages.stream().allMatch(m -> m.id().equals("mine-1") && m.ttlSeconds() == 5
        && m.priority() == Priority.HIGH));
  }

  @Test
  void canonicalJsonRoundTrips() throws Exception {
    RelayMessage m = new RelayMessage("id-1", "u.1@x", "ev", "[1,{\"a\":\"q\\\"\"}]", NOW, 60, Priority.NORMAL);
    assertEquals(m, RelayMessage.parse(m.toJson().getBytes(StandardCharsets.UTF_8)));
  }

  @ParameterizedTest(name = "{0} -> field {1}")
  @CsvSource(delimiter = '|', value = {
      "not json|body",
      "[1,2]|body",
      "{}|userId",
      "{\"userId\":\"u\",\"userIds\":[\"v\"],\"event\":\"e\"}|userId",
      "{\"userId\":7,\"event\":\"e\"}|userId",
      "{\"userId\":\"a/b\",\"event\":\"e\"}|userId",
      "{\"userId\":\"__x__\",\"event\":\"e\"}|userId",
      "{\"userId\":\"u\"}|event",
      "{\"userId\":\"u\",\"event\":\"has space\"}|event",
      "{\"userId\":\"u\",\"event\":\"e\",\"id\":\"\"}|id",
      "{\"userId\":\"u\",\"event\":\"e\",\"ttlSeconds\":0}|ttlSeconds",
      "{\"userId\":\"u\",\"event\":\"e\",\"ttlSeconds\":1.5}|ttlSeconds",
      "{\"userId\":\"u\",\"event\":\"e\",\"priority\":\"urgent\"}|priority",
      "{\"userIds\":[],\"event\":\"e\"}|userIds",
      "{\"userIds\":[\"a\",\"a\"],\"event\":\"e\"}|userIds",
      "{\"userId\":\"u\",\"event\":\"e\",\"extra\":1}|extra",
      "{\"userId\":\"u\",\"event\":\"e\",\"sentAt\":\"yesterday\"}|sentAt",
      "{\"userId\":\"u\",\"userId\":\"v\",\"event\":\"e\"}|body",
  })
  void badRequestsNameTheField(String json, String field) {
    InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> parse(json));
    assertEquals(field, e.field());
  }

  @Test
  void deepNestingIsRefused() {
    String deep = "[".repeat(100) + "]".repeat(100);
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> parse("{\"userId\":\"u\",\"event\":\"e\",\"data\":" + deep + "}"));
    assertEquals("body", e.field());
  }

  @Test
  void oversizeDataIsRefused() {
    String big = "x".repeat(Limits.MAX_DATA_BYTES + 10);
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> parse("{\"userId\":\"u\",\"event\":\"e\",\"data\":\"" + big + "\"}"));
    assertEquals("data", e.field());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "trailing garbage after the object|{\"userId\":\"u\",\"event\":\"e\"} x|body",
      "a second document|{\"userId\":\"u\",\"event\":\"e\"}{}|body",
      "a number whose exponent overflows|{\"userId\":\"u\",\"event\":\"e\",\"data\":1e9999999999}|body",
      "a number longer than 64 digits|{\"userId\":\"u\",\"event\":\"e\",\"data\":1234567890123456789012345678901234567890123456789012345678901234567890}|body",
      "a lone surrogate in data|{\"userId\":\"u\",\"event\":\"e\",\"data\":{\"k\":\"\\ud800\"}}|data",
      // Jackson 2.21.8's parser refuses a lone surrogate in a name itself: the body is not JSON
      "a lone surrogate in a data key|{\"userId\":\"u\",\"event\":\"e\",\"data\":{\"\\udc00\":1}}|body",
  })
  void strictJson(String name, String json, String field) {
    InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> parse(json));
    assertEquals(field, e.field(), name);
  }

  @Test
  void bodiesMustBeUtf8() {
    byte[] latin1 = "{\"userId\":\"u\",\"event\":\"e\",\"data\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
    assertEquals("not valid UTF-8", assertThrows(InvalidRequestException.class, () -> SendRequest.parse(latin1))
        .getMessage());
    byte[] utf16 = "{\"userId\":\"u\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_16);
    assertEquals("body", assertThrows(InvalidRequestException.class, () -> SendRequest.parse(utf16)).field());
  }

  @Test
  void numbersInDataAreKeptExactly() throws Exception {
    SendRequest r = parse("{\"userId\":\"u\",\"event\":\"e\",\"data\":[1e999999,3.14159265358979323846264,1.50,"
        + "12345678901234567890123,\"\\ud83d\\ude00\"]}");
    assertEquals("[1E+999999,3.14159265358979323846264,1.50,12345678901234567890123,\"\ud83d\ude00\"]", r.dataJson());
  }
}
