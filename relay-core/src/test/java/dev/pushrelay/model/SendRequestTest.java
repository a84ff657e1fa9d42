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
}
