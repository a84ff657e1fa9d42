package dev.pushrelay.functions.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.functions.FakeHttp;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Limits;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import dev.pushrelay.testing.InMemoryRevocations;

/**
 * The send API against bad input, one row per input with its exact answer: status, error code, and
 * the field named; nothing is published, nothing of the request comes back unescaped, and afterwards
 * the function still accepts a normal request.
 */
class SendApiBadInputTest {
  private static final String KEY = "k-0123456789";
  private static final String MARKUP = "<script>alert(1)</script>";
  private static final Topology TOPOLOGY = Topology.standard();
  private static final RecordingPublisher PUBSUB = new RecordingPublisher();
  private static SendFunction function;

  @BeforeAll
  static void create() {
    AtomicInteger ids = new AtomicInteger();
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), TOPOLOGY, Optional.of(KEY),
        List.of());
    function = new SendFunction(config, new RelayPublisher(PUBSUB, TOPOLOGY), new InMemoryRegistryStore(), new dev.pushrelay.testing.InMemoryMailbox(), new InMemoryRevocations(),
        new MutableClock(Instant.parse("2026-01-01T00:00:00Z")), () -> "id-" + ids.incrementAndGet());
  }

  /** Expected answer: status, error code, and the field named (null when none). */
  record Answer(int status, String code, String field) {
    @Override
    public String toString() {
      return status + " " + code + (field == null ? "" : " " + field);
    }
  }

  private static Answer answer(int status, String code, String field) {
    return new Answer(status, code, field);
  }

  private static Answer invalid(String field) {
    return new Answer(400, "invalid_request", field);
  }

  private static FakeHttp.Request post(String contentType, byte[] body) {
    return FakeHttp.request("POST", "/v1/messages", contentType, body).header("X-Relay-Api-Key", KEY);
  }

  private static FakeHttp.Request post(String json) {
    return post("application/json", json.getBytes(StandardCharsets.UTF_8));
  }

  private static Arguments row(String name, FakeHttp.Request request, Answer answer) {
    return Arguments.of(name, request, answer);
  }

  private static Arguments body(String name, String json, Answer answer) {
    return row(name, post(json), answer);
  }

  private static String users(int n) {
    return IntStream.range(0, n).mapToObj(i -> "\"u" + i + "\"").collect(Collectors.joining(",", "[", "]"));
  }

  static Stream<Arguments> rows() {
    String ok = "\"userId\":\"u1\",\"event\":\"e\"";
    return Stream.of(
        // transport: method, media type, size, key, path
        row("GET on messages", FakeHttp.request("GET", "/v1/messages", null, new byte[0])
            .header("X-Relay-Api-Key", KEY), answer(405, "method_not_allowed", null)),
        row("PUT on messages", FakeHttp.request("PUT", "/v1/messages", "application/json",
            ("{" + ok + "}").getBytes(StandardCharsets.UTF_8)).header("X-Relay-Api-Key", KEY),
            answer(405, "method_not_allowed", null)),
        row("DELETE on presence", FakeHttp.request("DELETE", "/v1/users/u1/presence", null, new byte[0])
            .header("X-Relay-Api-Key", KEY), answer(405, "method_not_allowed", null)),
        row("text/plain", post("text/plain", ("{" + ok + "}").getBytes(StandardCharsets.UTF_8)),
            answer(415, "unsupported_media_type", null)),
        row("no Content-Type", post(null, ("{" + ok + "}").getBytes(StandardCharsets.UTF_8)),
            answer(415, "unsupported_media_type", null)),
        row("form encoded", post("application/x-www-form-urlencoded", "userId=u1&event=e".getBytes(
            StandardCharsets.UTF_8)), answer(415, "unsupported_media_type", null)),
        row("JSON in UTF-16", post("application/json; charset=utf-16", ("{" + ok + "}").getBytes(
            StandardCharsets.UTF_16)), answer(415, "unsupported_media_type", null)),
        row("body over 256 KiB", post("{" + ok + ",\"data\":\"" + "x".repeat(Limits.MAX_BODY_BYTES) + "\"}"),
            answer(413, "too_large", null)),
        // 1,000 users x 17 KiB: well inside the body limit, but 17 MiB of copies
        row("fan-out whose copies pass 16 MiB", post("{\"userIds\":[" + java.util.stream.IntStream.range(0, 1000)
                .mapToObj(i -> "\"u" + i + "\"").collect(java.util.stream.Collectors.joining(",")) + "],\"event\":\"e\","
                + "\"data\":\"" + "x".repeat(17 * 1024) + "\"}"),
            answer(413, "too_large", "userIds")),
        row("no API key", FakeHttp.request("POST", "/v1/messages", "application/json",
            ("{" + ok + "}").getBytes(StandardCharsets.UTF_8)), answer(401, "unauthorized", null)),
        row("wrong API key", FakeHttp.request("POST", "/v1/messages", "application/json",
            ("{" + ok + "}").getBytes(StandardCharsets.UTF_8)).header("X-Relay-Api-Key", KEY + "x"),
            answer(401, "unauthorized", null)),
        row("unknown path", FakeHttp.request("POST", "/v1/messages/" + MARKUP, "application/json", new byte[0])
            .header("X-Relay-Api-Key", KEY), answer(404, "not_found", null)),
        row("presence without a user", FakeHttp.request("GET", "/v1/users/presence", null, new byte[0])
            .header("X-Relay-Api-Key", KEY), answer(404, "not_found", null)),
        row("presence of an empty user id", FakeHttp.request("GET", "/v1/users//presence", null, new byte[0])
            .header("X-Relay-Api-Key", KEY), invalid("userId")),
        row("presence of a user id with markup", FakeHttp.request("GET", "/v1/users/" + MARKUP + "/presence", null,
            new byte[0]).header("X-Relay-Api-Key", KEY), invalid("userId")),
        // the body as a whole
        row("empty body", post("application/json", new byte[0]), invalid("body")),
        row("invalid UTF-8", post("application/json", new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1',
            '}'}), invalid("body")),
        row("Latin-1 bytes", post("application/json", ("{" + ok + ",\"data\":\"caf\u00e9\"}").getBytes(
            StandardCharsets.ISO_8859_1)), invalid("body")),
        body("garbage", "hello", invalid("body")),
        body("truncated", "{\"userId\":\"u1\",\"event\":", invalid("body")),
        body("a JSON array", "[{" + ok + "}]", invalid("body")),
        body("a JSON string", "\"" + MARKUP + "\"", invalid("body")),
        body("JSON null", "null", invalid("body")),
        body("trailing garbage", "{" + ok + "} trailing", invalid("body")),
        body("two documents", "{" + ok + "}{" + ok + "}", invalid("body")),
        body("duplicate keys", "{" + ok + ",\"userId\":\"u2\"}", invalid("body")),
        body("data nested 33 deep", "{" + ok + ",\"data\":" + "[".repeat(33) + "]".repeat(33) + "}", invalid("body")),
        body("a number of 100 digits", "{" + ok + ",\"data\":" + "9".repeat(100) + "}", invalid("body")),
        body("a number out of range", "{" + ok + ",\"data\":1e9999999999}", invalid("body")),
        body("an unknown field", "{" + ok + ",\"channel\":\"all\"}", invalid("channel")),
        body("an unknown field named with markup", "{" + ok + ",\"" + MARKUP + "\":1}", invalid("(unnamed field)")),
        // recipients
        body("no recipient", "{\"event\":\"e\"}", invalid("userId")),
        body("userId and userIds", "{\"userId\":\"u1\",\"userIds\":[\"u2\"],\"event\":\"e\"}", invalid("userId")),
        body("userId a number", "{\"userId\":7,\"event\":\"e\"}", invalid("userId")),
        body("userId an object", "{\"userId\":{\"$ne\":null},\"event\":\"e\"}", invalid("userId")),
        body("userId null", "{\"userId\":null,\"event\":\"e\"}", invalid("userId")),
        body("userId empty", "{\"userId\":\"\",\"event\":\"e\"}", invalid("userId")),
        body("userId of 129 characters", "{\"userId\":\"" + "u".repeat(129) + "\",\"event\":\"e\"}", invalid("userId")),
        body("userId of 100 000 characters", "{\"userId\":\"" + "u".repeat(100_000) + "\",\"event\":\"e\"}",
            invalid("userId")),
        body("userId with a slash", "{\"userId\":\"a/b\",\"event\":\"e\"}", invalid("userId")),
        body("userId with markup", "{\"userId\":\"" + MARKUP + "\",\"event\":\"e\"}", invalid("userId")),
        body("userId reserved by Firestore", "{\"userId\":\"__x__\",\"event\":\"e\"}", invalid("userId")),
        body("userId ..", "{\"userId\":\"..\",\"event\":\"e\"}", invalid("userId")),
        body("userId with a NUL", "{\"userId\":\"u\\u0000\",\"event\":\"e\"}", invalid("userId")),
        body("userIds not a list", "{\"userIds\":\"u1\",\"event\":\"e\"}", invalid("userIds")),
        body("userIds empty", "{\"userIds\":[],\"event\":\"e\"}", invalid("userIds")),
        body("userIds of 1001", "{\"userIds\":" + users(1001) + ",\"event\":\"e\"}", invalid("userIds")),
        body("userIds with a repeat", "{\"userIds\":[\"a\",\"a\"],\"event\":\"e\"}", invalid("userIds")),
        body("userIds holding a number", "{\"userIds\":[\"a\",1],\"event\":\"e\"}", invalid("userIds")),
        body("userIds holding a list", "{\"userIds\":[[\"a\"]],\"event\":\"e\"}", invalid("userIds")),
        // event, data, id, ttl, priority, sentAt
        body("no event", "{\"userId\":\"u1\"}", invalid("event")),
        body("event null", "{\"userId\":\"u1\",\"event\":null}", invalid("event")),
        body("event a number", "{\"userId\":\"u1\",\"event\":42}", invalid("event")),
        body("event of 65 characters", "{\"userId\":\"u1\",\"event\":\"" + "e".repeat(65) + "\"}", invalid("event")),
        body("event with a space", "{\"userId\":\"u1\",\"event\":\"agent update\"}", invalid("event")),
        body("event with markup", "{\"userId\":\"u1\",\"event\":\"" + MARKUP + "\"}", invalid("event")),
        body("data over 200 KiB", "{" + ok + ",\"data\":\"" + "x".repeat(Limits.MAX_DATA_BYTES) + "\"}",
            invalid("data")),
        body("data with a lone surrogate", "{" + ok + ",\"data\":{\"text\":\"\\ud800\"}}", invalid("data")),
        body("id empty", "{" + ok + ",\"id\":\"\"}", invalid("id")),
        body("id a number", "{" + ok + ",\"id\":12345}", invalid("id")),
        body("id of 129 characters", "{" + ok + ",\"id\":\"" + "i".repeat(129) + "\"}", invalid("id")),
        body("id with a slash", "{" + ok + ",\"id\":\"a/b\"}", invalid("id")),
        body("id ..", "{" + ok + ",\"id\":\"..\"}", invalid("id")),
        body("ttlSeconds 0", "{" + ok + ",\"ttlSeconds\":0}", invalid("ttlSeconds")),
        body("ttlSeconds negative", "{" + ok + ",\"ttlSeconds\":-5}", invalid("ttlSeconds")),
        body("ttlSeconds over 7 days", "{" + ok + ",\"ttlSeconds\":604801}", invalid("ttlSeconds")),
        body("ttlSeconds a string", "{" + ok + ",\"ttlSeconds\":\"60\"}", invalid("ttlSeconds")),
        body("ttlSeconds a fraction", "{" + ok + ",\"ttlSeconds\":1.5}", invalid("ttlSeconds")),
        body("ttlSeconds beyond int", "{" + ok + ",\"ttlSeconds\":1e10}", invalid("ttlSeconds")),
        body("priority unknown", "{" + ok + ",\"priority\":\"urgent\"}", invalid("priority")),
        body("priority in other case", "{" + ok + ",\"priority\":\"HIGH\"}", invalid("priority")),
        body("priority a number", "{" + ok + ",\"priority\":1}", invalid("priority")),
        body("sentAt not a time", "{" + ok + ",\"sentAt\":\"yesterday\"}", invalid("sentAt")),
        // the accept stamp that orders a user's messages is the relay's own
        body("sentAt set by the sender", "{" + ok + ",\"sentAt\":\"2026-01-01T00:00:00Z\"}", invalid("sentAt")));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("rows")
  void badInputGetsItsExactAnswerAndPublishesNothing(String name, FakeHttp.Request request, Answer expected)
      throws Exception {
    int before = PUBSUB.published().size();
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(request, response);
    assertEquals(expected.status(), response.status(), name + ": " + response.body());
    JsonNode error = JsonCodec.read(response.body().getBytes(StandardCharsets.UTF_8)).path("error");
    assertEquals(expected.code(), error.path("code").asText(), name);
    assertEquals(expected.field(), error.has("field") ? error.get("field").asText() : null, name);
    assertTrue(response.getContentType().orElse("").startsWith("application/json"), name);
    assertEquals("nosniff", response.header("X-Content-Type-Options").orElse(""), name);
    assertFalse(response.body().contains("<"), "nothing of the request comes back unescaped: " + response.body());
    assertTrue(response.body().length() < 512, "the answer does not repeat the request");
    assertEquals(before, PUBSUB.published().size(), "nothing was published");
  }

  @AfterAll
  static void stillAcceptsANormalRequest() throws Exception {
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(post("{\"userId\":\"u1\",\"event\":\"agent_update\",\"data\":{\"step\":3}}"), response);
    assertEquals(202, response.status(), response.body());
    assertEquals(1, PUBSUB.published().size());
  }
}
