package dev.pushrelay.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.pubsub.v1.PubsubMessage;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.auth.TokenSettings;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.node.config.Exposure;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.testing.TestJwks;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input against real nodes on the emulators, driven by the real Jetty WebSocket client (and a
 * bare TCP client where a library will not misbehave): every handshake refusal and every bad frame
 * with its exact answer, then the nodes still serve a normal user.
 *
 * <p>Two nodes: one verifying HS256 with an Origin allowlist, zero clock skew, a 1 s ping interval and
 * small outbound bounds; one verifying RS256/ES256 from a JWK set served by {@link TestJwks}, with
 * room for 3 sockets, 2 per user; and one as in the cloud, which lets a user hold {@link #FLEET} sockets
 * across the fleet.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SocketNodeSecurityIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Topology TOPOLOGY = Topology.standard();
  private static final String ORIGIN = "https://app.example";
  private static final String ISSUER = "https://securetoken.google.com/relay-it";
  private static final String AUDIENCE = "relay-it";
  private static final RSAKey RSA = TestJwks.rsaKey("rsa-1");
  private static final String HS_NODE = "node-sec-hs";
  private static final String JWKS_NODE = "node-sec-jwks";

  private static GcpClients clients;
  private static EmulatorProject project;
  private static RelayPublisher publisher;
  private static TestJwks jwks;
  private static SocketNode hs;
  private static SocketNode rs;
  /** A node as in the cloud with no variable opening it: no query-string token, no demo page, no /metrics. */
  private static SocketNode cloud;
  private static final String CLOUD_NODE = "node-cloud";
  /** The cloud node's limit of one user's sockets across the fleet. */
  private static final int FLEET = 3;

  @BeforeAll
  static void start() throws Exception {
    project = EmulatorProject.withTopology(TOPOLOGY);
    GcpEndpoints endpoints = project.endpoints();
    clients = project.clients();
    publisher = project.publisher();
    jwks = TestJwks.start();
    jwks.publish(RSA);
    SocketLimits limits = SocketLimits.defaults().withPingInterval(Duration.ofSeconds(1)).withOutbound(64, 64 * 1024);
    hs = new SocketNode(new NodeConfig(0, endpoints, TOPOLOGY, HS_NODE,
        TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)).withClockSkew(Duration.ZERO),
        false, Optional.empty(), 100, List.of(ORIGIN), limits, Exposure.local()), Clock.systemUTC()).start();
    rs = new SocketNode(new NodeConfig(0, endpoints, TOPOLOGY, JWKS_NODE,
        TokenSettings.jwks(jwks.url(), ISSUER, AUDIENCE).withJwksRefreshMinInterval(Duration.ZERO),
        false, Optional.empty(), 3, List.of(), SocketLimits.defaults().withMaxConnectionsPerUser(2, 30),
        Exposure.local()), Clock.systemUTC()).start();
    cloud = new SocketNode(new NodeConfig(0, endpoints, TOPOLOGY, CLOUD_NODE,
        TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)), false, Optional.empty(), 100,
        List.of(), SocketLimits.defaults().withMaxConnectionsPerUser(100, FLEET), Exposure.cloud()), Clock.systemUTC())
        .start();
  }

  @AfterAll
  static void stop() {
    cloud.close();
    rs.close();
    hs.close();
    jwks.close();
    project.close();
  }

  // ---- tokens ----

  private static JWTClaimsSet.Builder claims(String sub, Duration life) {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder().subject(sub).issuer(ISSUER).audience(AUDIENCE)
        .issueTime(Date.from(now.minusSeconds(5))).expirationTime(Date.from(now.plus(life)));
  }

  private static JWTClaimsSet.Builder claims(String sub) {
    return claims(sub, Duration.ofMinutes(10));
  }

  private static String hsToken(JWTClaimsSet.Builder claims) {
    return TestTokens.hs256(TestTokens.SECRET, claims.build());
  }

  private static String rsToken(JWTClaimsSet.Builder claims) {
    return TestJwks.sign(RSA, JWSAlgorithm.RS256, claims.build());
  }

  private static URI ws(SocketNode node, String query) {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws" + query);
  }

  // ---- the handshake table ----

  /** One refused handshake: where it goes, what it sends, the status it must get. */
  record Handshake(SocketNode node, String query, Map<String, String> headers, List<String> subprotocols,
      int status) {
    /** The status only: the rest holds tokens, which stay out of test reports. */
    @Override
    public String toString() {
      return String.valueOf(status);
    }
  }

  private static Handshake toHs(String query, Map<String, String> headers, List<String> subprotocols, int status) {
    Map<String, String> h = new HashMap<>(Map.of("Origin", ORIGIN));
    h.putAll(headers);
    h.values().removeIf(String::isEmpty);
    return new Handshake(hs, query, h, subprotocols, status);
  }

  private static Handshake bearer(String token, int status) {
    return toHs("", Map.of("Authorization", "Bearer " + token), List.of(), status);
  }

  private static Handshake toRs(String token, int status) {
    return new Handshake(rs, "", Map.of("Authorization", "Bearer " + token), List.of(), status);
  }

  static Stream<Arguments> handshakes() {
    String good = hsToken(claims("mallory"));
    String alg = "eyJhbGciOiJub25lIn0";
    return Stream.of(
        Arguments.of("no token at all", toHs("", Map.of(), List.of(), 401)),
        Arguments.of("garbage token", toHs("?access_token=garbage", Map.of(), List.of(), 401)),
        Arguments.of("three empty parts", bearer("..", 401)),
        Arguments.of("expired", bearer(hsToken(claims("m", Duration.ofSeconds(-120))), 401)),
        Arguments.of("nbf in the future", bearer(hsToken(claims("m").notBeforeTime(
            Date.from(Instant.now().plusSeconds(600)))), 401)),
        Arguments.of("iat in the future", bearer(hsToken(claims("m").issueTime(
            Date.from(Instant.now().plusSeconds(3600)))), 401)),
        Arguments.of("no exp", bearer(hsToken(new JWTClaimsSet.Builder().subject("m")), 401)),
        Arguments.of("exp not a number", bearer(hsToken(claims("m").claim("exp", "tomorrow")), 401)),
        Arguments.of("signed with another secret",
            bearer(TestTokens.hs256("another-secret-that-is-also-32-bytes-long", claims("m").build()), 401)),
        Arguments.of("alg none", bearer(new PlainJWT(new PlainHeader(), claims("m").build()).serialize(), 401)),
        Arguments.of("alg none, hand-made with a signature", bearer(alg + "."
            + good.split("\\.")[1] + "." + good.split("\\.")[2], 401)),
        Arguments.of("RS256 token at an HS256 node", bearer(rsToken(claims("m")), 401)),
        Arguments.of("no sub", bearer(hsToken(claims(null)), 401)),
        Arguments.of("sub with a slash", bearer(hsToken(claims("a/../b")), 401)),
        Arguments.of("sub of 129 characters", bearer(hsToken(claims("u".repeat(129))), 401)),
        Arguments.of("Basic instead of Bearer", toHs("", Map.of("Authorization", "Basic bWFsbG9yeTpwdw=="),
            List.of(), 401)),
        Arguments.of("bearer subprotocol with a bad token", toHs("", Map.of(), List.of("bearer.garbage"), 401)),
        Arguments.of("token in header and query", toHs("?access_token=" + good,
            Map.of("Authorization", "Bearer " + good), List.of(), 400)),
        Arguments.of("access_token twice", toHs("?access_token=" + good + "&access_token=" + good, Map.of(),
            List.of(), 400)),
        Arguments.of("two bearer subprotocols", toHs("", Map.of(), List.of("bearer." + good, "bearer.x"), 400)),
        Arguments.of("query string not percent-decodable", toHs("?access_token=%zz", Map.of(), List.of(), 400)),
        Arguments.of("16 KiB token", bearer("a".repeat(16 * 1024), 431)),
        Arguments.of("foreign Origin", toHs("?access_token=" + good, Map.of("Origin", "https://evil.example"),
            List.of(), 403)),
        Arguments.of("no Origin", toHs("?access_token=" + good, Map.of("Origin", ""), List.of(), 403)),
        Arguments.of("Origin with a trailing slash", toHs("?access_token=" + good,
            Map.of("Origin", ORIGIN + "/"), List.of(), 403)),
        Arguments.of("Origin null", toHs("?access_token=" + good, Map.of("Origin", "null"), List.of(), 403)),
        Arguments.of("Origin in other case", toHs("?access_token=" + good, Map.of("Origin", "HTTPS://APP.EXAMPLE"),
            List.of(), 403)),
        Arguments.of("Origin on another port", toHs("?access_token=" + good,
            Map.of("Origin", ORIGIN + ":8443"), List.of(), 403)),
        Arguments.of("Origin as a suffix", toHs("?access_token=" + good,
            Map.of("Origin", "https://app.example.evil.example"), List.of(), 403)),
        Arguments.of("JWKS: wrong issuer", toRs(rsToken(claims("m").issuer("https://securetoken.google.com/other")),
            401)),
        Arguments.of("JWKS: wrong audience", toRs(rsToken(claims("m").audience("other")), 401)),
        Arguments.of("JWKS: no audience", toRs(rsToken(claims("m").audience((String) null)), 401)),
        Arguments.of("JWKS: HS256 signed with the public key", toRs(TestJwks.hs256WithPublicKey(RSA,
            claims("m").build()), 401)),
        Arguments.of("JWKS: HS256 with a shared secret", toRs(hsToken(claims("m")), 401)),
        Arguments.of("JWKS: unknown key id", toRs(TestJwks.sign(TestJwks.rsaKey("kid-nobody-published"),
            JWSAlgorithm.RS256, claims("m").build()), 401)),
        Arguments.of("JWKS: known key id, another key",
            toRs(TestJwks.sign(TestJwks.rsaKey("rsa-1"), JWSAlgorithm.RS256, claims("m").build()), 401)),
        Arguments.of("JWKS: RS512, not pinned", toRs(TestJwks.sign(RSA, JWSAlgorithm.RS512, claims("m").build()),
            401)),
        Arguments.of("JWKS: alg none", toRs(new PlainJWT(new PlainHeader(), claims("m").build()).serialize(), 401)),
        Arguments.of("JWKS: expired", toRs(rsToken(claims("m", Duration.ofSeconds(-120))), 401)));
  }

  @Order(1)
  @ParameterizedTest(name = "handshake: {0} -> {1}")
  @MethodSource("handshakes")
  void handshakeIsRefusedBeforeTheUpgrade(String name, Handshake h) throws Exception {
    Map<String, String> headers = new HashMap<>(h.headers());
    if (!h.subprotocols().isEmpty()) {
      headers.put("Sec-WebSocket-Protocol", String.join(", ", h.subprotocols()));
    }
    try (RawSocket raw = RawSocket.upgrade(h.node().port(), "/ws" + h.query(), headers, 0)) {
      assertEquals(h.status(), raw.status(), name);
      for (String part : (h.query() + " " + String.join(" ", h.headers().values())).split("[ =&]")) {
        if (part.length() > 40) {
          assertFalse(raw.body().contains(part), "the answer repeats nothing of the request: " + raw.body());
        }
      }
    }
    // and the real client library is refused the same way
    if (!h.query().contains("%")) {
      Optional<Integer> refusal = TestSocketClient.refusal(ws(h.node(), h.query()), h.headers(), h.subprotocols(),
          WAIT);
      assertTrue(refusal.isPresent(), name);
    }
  }

  // ---- the frame table ----

  /** What a socket must answer: an error frame with this code, or a close with this code. */
  record Answer(String errorCode, int closeCode) {
    static Answer error(String code) {
      return new Answer(code, 0);
    }

    static Answer close(int code) {
      return new Answer(null, code);
    }

    @Override
    public String toString() {
      return errorCode != null ? "error " + errorCode : "close " + closeCode;
    }
  }

  interface Send {
    void to(TestSocketClient c) throws Exception;
  }

  private static Arguments text(String name, String frame, Answer answer) {
    return Arguments.of(name, (Send) c -> c.send(frame), answer);
  }

  static Stream<Arguments> frames() {
    return Stream.of(
        text("not JSON", "hello", Answer.error("bad_frame")),
        text("empty frame", "", Answer.error("bad_frame")),
        text("JSON array", "[1,2]", Answer.error("bad_frame")),
        text("JSON string", "\"ping\"", Answer.error("bad_frame")),
        text("JSON null", "null", Answer.error("bad_frame")),
        text("no type", "{\"id\":\"m-1\"}", Answer.error("bad_frame")),
        text("type is a number", "{\"type\":7}", Answer.error("bad_frame")),
        text("unknown type", "{\"type\":\"subscribe\",\"channel\":\"*\"}", Answer.error("unknown_type")),
        text("type in other case", "{\"type\":\"PING\"}", Answer.error("unknown_type")),
        text("ack without id", "{\"type\":\"ack\"}", Answer.error("bad_frame")),
        text("ack with a numeric id", "{\"type\":\"ack\",\"id\":42}", Answer.error("bad_frame")),
        text("ack with a 129-character id", "{\"type\":\"ack\",\"id\":\"" + "i".repeat(129) + "\"}",
            Answer.error("bad_frame")),
        text("ack with markup in the id", "{\"type\":\"ack\",\"id\":\"<script>alert(1)</script>\"}",
            Answer.error("bad_frame")),
        text("nesting 100 deep", "{\"type\":\"ping\",\"x\":" + "[".repeat(100) + "]".repeat(100) + "}",
            Answer.error("bad_frame")),
        text("duplicate keys", "{\"type\":\"ping\",\"type\":\"ack\"}", Answer.error("bad_frame")),
        text("trailing garbage", "{\"type\":\"ping\"} {\"type\":\"ping\"}", Answer.error("bad_frame")),
        text("number out of range", "{\"type\":\"ping\",\"n\":1e9999999999}", Answer.error("bad_frame")),
        text("number of 100 digits", "{\"type\":\"ping\",\"n\":" + "9".repeat(100) + "}", Answer.error("bad_frame")),
        // over 16 KiB a frame is refused (a publish with its id, so it can be answered); over 64 KiB the
        // socket is closed without reading the rest
        text("frame over 16 KiB", "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(16 * 1024) + "\"}",
            Answer.error("too_large")),
        text("frame over 64 KiB", "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(64 * 1024) + "\"}",
            Answer.close(1009)),
        Arguments.of("message over 64 KiB in fragments", (Send) c -> c.sendFragmented(
            "{\"type\":\"ping\",\"pad\":\"" + "x".repeat(80 * 1024) + "\"}", 4), Answer.close(1009)),
        text("publish without an id", "{\"type\":\"publish\",\"event\":\"e\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish naming another user", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"e\",\"data\":1,"
            + "\"userId\":\"victim\"}", Answer.error("bad_frame")),
        Arguments.of("binary frame", (Send) c -> c.sendBinary(new byte[] {1, 2, 3}), Answer.close(1003)),
        // the frame's type
        text("JSON number", "42", Answer.error("bad_frame")),
        text("JSON true", "true", Answer.error("bad_frame")),
        text("type null", "{\"type\":null}", Answer.error("bad_frame")),
        text("type is an object", "{\"type\":{\"name\":\"ping\"}}", Answer.error("bad_frame")),
        text("type is an empty string", "{\"type\":\"\"}", Answer.error("unknown_type")),
        text("type with a trailing space", "{\"type\":\"ping \"}", Answer.error("unknown_type")),
        text("byte order mark before the JSON", "\uFEFF{\"type\":\"ping\"}", Answer.error("bad_frame")),
        // ack
        text("ack with an empty id", "{\"type\":\"ack\",\"id\":\"\"}", Answer.error("bad_frame")),
        text("ack with a null id", "{\"type\":\"ack\",\"id\":null}", Answer.error("bad_frame")),
        text("ack with an object id", "{\"type\":\"ack\",\"id\":{\"id\":\"m\"}}", Answer.error("bad_frame")),
        text("ack with a space in the id", "{\"type\":\"ack\",\"id\":\"m 1\"}", Answer.error("bad_frame")),
        text("ack with a path in the id", "{\"type\":\"ack\",\"id\":\"../m1\"}", Answer.error("bad_frame")),
        // publish
        text("publish with a numeric id", "{\"type\":\"publish\",\"id\":7,\"event\":\"e\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish with an empty id", "{\"type\":\"publish\",\"id\":\"\",\"event\":\"e\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish with a 129-character id", "{\"type\":\"publish\",\"id\":\"" + "p".repeat(129)
            + "\",\"event\":\"e\",\"data\":1}", Answer.error("bad_frame")),
        text("publish with a space in the id", "{\"type\":\"publish\",\"id\":\"p 1\",\"event\":\"e\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish with a control character in the id",
            "{\"type\":\"publish\",\"id\":\"p\\u0007\",\"event\":\"e\",\"data\":1}", Answer.error("bad_frame")),
        text("publish without an event", "{\"type\":\"publish\",\"id\":\"p\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish with an empty event", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"\",\"data\":1}",
            Answer.error("bad_frame")),
        text("publish with a 65-character event", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\""
            + "e".repeat(65) + "\",\"data\":1}", Answer.error("bad_frame")),
        text("publish with a space in the event",
            "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"new message\",\"data\":1}", Answer.error("bad_frame")),
        text("publish with a numeric event", "{\"type\":\"publish\",\"id\":\"p\",\"event\":5,\"data\":1}",
            Answer.error("bad_frame")),
        text("publish without data", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"e\"}",
            Answer.error("bad_frame")),
        text("publish with a lone surrogate in its data",
            "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"e\",\"data\":\"\\ud800\"}", Answer.error("bad_frame")),
        text("publish naming a node", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"e\",\"data\":1,"
            + "\"nodeId\":\"node-2\"}", Answer.error("bad_frame")),
        text("publish with a priority", "{\"type\":\"publish\",\"id\":\"p\",\"event\":\"e\",\"data\":1,"
            + "\"priority\":\"high\"}", Answer.error("bad_frame")),
        // auth: the frame itself, then tokens the renewal refuses (the socket keeps the token it had)
        text("auth without a token", "{\"type\":\"auth\"}", Answer.error("bad_frame")),
        text("auth with an empty token", "{\"type\":\"auth\",\"token\":\"\"}", Answer.error("bad_frame")),
        text("auth with a numeric token", "{\"type\":\"auth\",\"token\":42}", Answer.error("bad_frame")),
        text("auth with another field", "{\"type\":\"auth\",\"token\":\"a.b.c\",\"userId\":\"victim\"}",
            Answer.error("bad_frame")),
        text("auth with a token over 8192 characters",
            "{\"type\":\"auth\",\"token\":\"" + "a".repeat(8193) + "\"}", Answer.error("bad_frame")),
        text("auth with a garbage token", "{\"type\":\"auth\",\"token\":\"garbage\"}", Answer.error("auth_failed")),
        text("auth with an expired token", authFrame(hsToken(claims("m", Duration.ofSeconds(-120)))),
            Answer.error("auth_failed")),
        text("auth with alg none", authFrame(new PlainJWT(new PlainHeader(), claims("m").build()).serialize()),
            Answer.error("auth_failed")),
        text("auth signed with another secret", authFrame(
            TestTokens.hs256("another-secret-that-is-also-32-bytes-long", claims("m").build())),
            Answer.error("auth_failed")),
        text("auth with another user's token", authFrame(hsToken(claims("victim"))), Answer.error("auth_failed")));
  }

  private static String authFrame(String token) {
    return "{\"type\":\"auth\",\"token\":\"" + token + "\"}";
  }

  private static TestSocketClient open(SocketNode node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(ws(node, ""), Map.of("Origin", ORIGIN, "Authorization",
        "Bearer " + (node == hs ? hsToken(claims(user)) : rsToken(claims(user)))), WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  @Order(2)
  @ParameterizedTest(name = "frame: {0} -> {2}")
  @MethodSource("frames")
  void badFramesGetTheirExactAnswer(String name, Send send, Answer answer) throws Exception {
    try (TestSocketClient c = open(hs, "frames-" + UUID.randomUUID().toString().substring(0, 8))) {
      send.to(c);
      if (answer.errorCode() != null) {
        TestSocketClient.Frame error = c.awaitType("error", WAIT);
        assertEquals(answer.errorCode(), error.json().get("code").asText(), name);
        assertFalse(error.json().toString().contains("<script>"), "nothing from the frame is echoed");
        // the socket stays usable
        c.send("{\"type\":\"ping\"}");
        c.awaitType("pong", WAIT);
      } else {
        assertEquals(answer.closeCode(), c.awaitClose(WAIT), name);
      }
    }
  }

  @Order(2)
  @Test
  void textThatIsNotUtf8IsClosedWith1007() throws Exception {
    try (RawSocket raw = RawSocket.upgrade(hs.port(), "/ws?access_token=" + hsToken(claims("raw-utf8")),
        Map.of("Origin", ORIGIN), 0)) {
      assertEquals(101, raw.status());
      assertEquals("connection_established", typeOf(nextText(raw)));
      raw.send(0x1, new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});
      assertEquals(1007, raw.awaitClose(WAIT));
    }
  }

  /**
   * A node in the cloud that no variable opened: a token in the query string is refused (URLs reach
   * request logs), the header still works, and neither the demo page nor /metrics is served.
   */
  @Order(2)
  @Test
  void aCloudNodeTakesNoQueryTokenAndServesNeitherTheDemoNorMetrics() throws Exception {
    try (RawSocket raw = RawSocket.upgrade(cloud.port(), "/ws?access_token=" + hsToken(claims("by-query")),
        Map.of(), 0)) {
      assertEquals(401, raw.status());
      assertTrue(raw.body().contains("RELAY_ALLOW_QUERY_TOKEN"), raw.body());
    }
    try (RawSocket raw = RawSocket.upgrade(cloud.port(), "/ws",
        Map.of("Authorization", "Bearer " + hsToken(claims("by-header"))), 0)) {
      assertEquals(101, raw.status());
    }
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    for (String path : List.of("/", "/index.html", "/config.json", "/relay-client.js", "/metrics", "/healthz")) {
      int status = http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cloud.port() + path))
          .build(), java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
      assertEquals(path.equals("/healthz") ? 200 : 404, status, path);
    }
  }

  /**
   * Handshakes too frequent are refused 429 with Retry-After before they cost a registry write: from one
   * client address (the hop Cloud Run's front end appended to X-Forwarded-For, whatever the client wrote
   * before it), even without a token, and for one user.
   */
  @Order(2)
  @Test
  void handshakesTooFrequentFromOneAddressOrForOneUserAreRefused429() throws Exception {
    int refusedAt = -1;
    for (int i = 0; i < 200 && refusedAt < 0; i++) {
      Map<String, String> from = Map.of("X-Forwarded-For", "203.0.113." + i + ", 10.0.0.1");
      try (RawSocket raw = RawSocket.upgrade(cloud.port(), "/ws", from, 0)) {
        if (raw.status() == 429) {
          refusedAt = i;
          assertTrue(Integer.parseInt(raw.header("Retry-After")) >= 1);
          assertTrue(raw.body().contains("too_many_handshakes"), raw.body());
        } else {
          assertEquals(401, raw.status(), "no token: refused, but counted against the address");
        }
      }
    }
    assertTrue(refusedAt >= 100 && refusedAt < 200, "the address's burst of 100, then 429: " + refusedAt);
    try (RawSocket other = RawSocket.upgrade(cloud.port(), "/ws", Map.of("X-Forwarded-For", "198.51.100.9"), 0)) {
      assertEquals(401, other.status(), "another address is not held back");
    }
    String token = hsToken(claims("reconnect-looper"));
    int userRefusedAt = -1;
    for (int i = 0; i < 40 && userRefusedAt < 0; i++) {
      try (RawSocket raw = RawSocket.upgrade(cloud.port(), "/ws", Map.of("Authorization", "Bearer " + token), 0)) {
        if (raw.status() == 429) {
          userRefusedAt = i;
          assertTrue(raw.body().contains("too_many_handshakes"), raw.body());
        } else {
          assertEquals(101, raw.status());
        }
      }
    }
    assertTrue(userRefusedAt >= 10 && userRefusedAt < 40, "the user's burst of 10, then 429: " + userRefusedAt);
  }

  /**
   * A browser offers permessage-deflate on every socket; the node accepts the socket without it, so no
   * socket carries zlib state for its whole life (30 to 130 KB off-heap each, docs/BENCHMARKS.md).
   */
  @Order(2)
  @Test
  void compressionOfferedAsBrowsersDoIsDeclined() throws Exception {
    try (RawSocket raw = RawSocket.upgrade(hs.port(), "/ws?access_token=" + hsToken(claims("deflater")),
        Map.of("Origin", ORIGIN, "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"), 0)) {
      assertEquals(101, raw.status());
      assertEquals(null, raw.header("Sec-WebSocket-Extensions"), "no extension negotiated");
      assertEquals("connection_established", typeOf(nextText(raw)));
    }
  }

  /**
   * A flood of frames is first refused with a warning, then closed with 1008. Sent on a bare socket in
   * one write, smaller than the node's read buffer: Jetty ends the TCP connection as soon as it has
   * sent a close with any code but 1000, without waiting for the client's reply, so client bytes still
   * unread in the node's kernel buffer then, or arriving after, turn its close into a reset, and the
   * reset can overtake the close frame (one run in thirty, when the frames were sent one by one).
   */
  @Order(2)
  @Test
  void aFloodOfFramesIsWarnedThenClosedWith1008() throws Exception {
    try (RawSocket raw = RawSocket.upgrade(hs.port(), "/ws?access_token=" + hsToken(claims("flooder")),
        Map.of("Origin", ORIGIN), 0)) {
      assertEquals("connection_established", typeOf(nextText(raw)));
      raw.sendTogether(0x1, "{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8), 80); // 1,680 bytes
      List<String> types = new ArrayList<>();
      RawSocket.Frame f;
      while ((f = raw.read()).opcode() != 0x8) {
        if (f.opcode() != 0x1) {
          continue; // the node's own WebSocket pings keep coming meanwhile
        }
        com.fasterxml.jackson.databind.JsonNode json = dev.pushrelay.json.JsonCodec.read(f.text());
        types.add(json.path("type").asText() + (json.has("code") ? ":" + json.get("code").asText() : ""));
      }
      assertEquals(1008, f.closeCode());
      int warning = types.indexOf("error:rate_limited");
      assertTrue(warning > 0, "refused frames are announced before the close: " + types);
      assertTrue(types.subList(0, warning).stream()
          .allMatch("pong"::equals), "the burst is answered before anything is refused: " + types);
    }
  }

  /** The next text frame; the node's own WebSocket pings may come first, whenever its liveness sweep runs. */
  private static RawSocket.Frame nextText(RawSocket raw) throws Exception {
    RawSocket.Frame f;
    while ((f = raw.read()).opcode() != 0x1) {
      if (f.opcode() == 0x8) {
        return f;
      }
    }
    return f;
  }

  private static String typeOf(RawSocket.Frame f) throws Exception {
    return dev.pushrelay.json.JsonCodec.read(f.text()).path("type").asText();
  }

  @Order(2)
  @Test
  void aTokenThatExpiresMidSessionClosesTheSocketWith1008() throws Exception {
    try (TestSocketClient c = TestSocketClient.connect(ws(hs, ""), Map.of("Origin", ORIGIN,
        "Authorization", "Bearer " + hsToken(claims("short-lived", Duration.ofSeconds(3)))), WAIT)) {
      c.awaitType("connection_established", WAIT);
      long opened = System.nanoTime();
      assertEquals(1008, c.awaitClose(WAIT));
      assertTrue(System.nanoTime() - opened > TimeUnit.MILLISECONDS.toNanos(1000), "not before exp");
    }
  }

  @Order(2)
  @Test
  void aSocketThatAnswersNoPingIsDroppedAndALiveOneIsKept() throws Exception {
    try (TestSocketClient hung = open(hs, "hung"); TestSocketClient live = open(hs, "live")) {
      hung.stopAnsweringPings();
      // ping interval 1 s, dropped after 2 s of silence
      assertEquals(RawSocket.NO_CLOSE_FRAME, hung.awaitClose(WAIT));
      assertTrue(live.isOpen(), "a socket that answers pings stays");
      live.send("{\"type\":\"ping\"}");
      live.awaitType("pong", WAIT);
    }
  }

  @Order(2)
  @Test
  void theUserIdComesFromTheTokenNeverFromTheRequest() throws Exception {
    try (TestSocketClient c = TestSocketClient.connect(ws(hs, "?userId=victim&user=victim&sub=victim"),
        Map.of("Origin", ORIGIN, "Authorization", "Bearer " + hsToken(claims("attacker")), "X-User-Id", "victim"),
        WAIT)) {
      assertEquals("attacker", c.awaitType("connection_established", WAIT).json().get("userId").asText());
    }
  }

  @Order(2)
  @Test
  void subprotocolTokenIsEchoedAsTheChosenProtocol() throws Exception {
    String offered = "bearer." + hsToken(claims("browser"));
    try (TestSocketClient c = TestSocketClient.connect(ws(hs, ""), Map.of("Origin", ORIGIN), List.of(offered), WAIT)) {
      assertEquals("browser", c.awaitType("connection_established", WAIT).json().get("userId").asText());
      assertEquals(offered, c.acceptedSubprotocol());
    }
  }

  @Order(2)
  @Test
  void refusalsSayWhenToRetryAndHowToAuthenticateAndEchoNothing() throws Exception {
    String secretish = "SECRET-MARKER-" + UUID.randomUUID();
    try (RawSocket r = RawSocket.upgrade(hs.port(), "/ws?access_token=" + secretish, Map.of("Origin", ORIGIN), 0)) {
      assertEquals(401, r.status());
      assertEquals("Bearer realm=\"relay\", error=\"invalid_token\"", r.header("WWW-Authenticate"));
      assertFalse(r.body().contains(secretish), r.body());
    }
    try (RawSocket r = RawSocket.upgrade(hs.port(), "/ws", Map.of("Origin", ORIGIN), 0)) {
      assertEquals(401, r.status());
      assertEquals("Bearer realm=\"relay\"", r.header("WWW-Authenticate"));
    }
    try (RawSocket r = RawSocket.upgrade(hs.port(), "/ws", Map.of("Origin", "https://evil.example/<b>"), 0)) {
      assertEquals(403, r.status());
      assertFalse(r.body().contains("<b>"), r.body());
    }
  }

  @Order(3)
  @Test
  void perUserAndPerNodeCapsRefuseBeforeTheUpgradeAndGiveTheRoomBack() throws Exception {
    List<TestSocketClient> open = new ArrayList<>();
    try {
      open.add(open(rs, "capped"));
      open.add(open(rs, "capped"));
      try (RawSocket third = RawSocket.upgrade(rs.port(), "/ws?access_token=" + rsToken(claims("capped")),
          Map.of(), 0)) {
        assertEquals(429, third.status());
        assertEquals("5", third.header("Retry-After"));
      }
      open.add(open(rs, "other"));
      try (RawSocket full = RawSocket.upgrade(rs.port(), "/ws?access_token=" + rsToken(claims("late")), Map.of(), 0)) {
        assertEquals(503, full.status());
        assertEquals("5", full.header("Retry-After"));
      }
    } finally {
      open.forEach(TestSocketClient::close);
    }
    // closed sockets, and an upgrade whose client vanished at once, give their room back
    try (RawSocket vanished = RawSocket.upgrade(rs.port(), "/ws?access_token=" + rsToken(claims("vanishing")),
        Map.of(), 0)) {
      assertEquals(101, vanished.status());
    }
    List<TestSocketClient> again = new ArrayList<>();
    AtomicReference<Exception> refused = new AtomicReference<>();
    try {
      Await.until("the room for 3 sockets given back", WAIT, () -> {
        try {
          again.add(open(rs, "again-" + again.size()));
        } catch (Exception e) {
          refused.set(e);
        }
        return again.size() == 3;
      }, () -> "the node never gave the room back: " + refused.get());
    } finally {
      again.forEach(TestSocketClient::close);
    }
  }

  @Order(3)
  @Test
  void aRotatedKeyIsAcceptedWithoutARestart() throws Exception {
    try (TestSocketClient before = open(rs, "rotating")) {
      assertTrue(before.isOpen());
    }
    RSAKey next = TestJwks.rsaKey("rsa-2");
    jwks.publish(RSA, next);
    try (TestSocketClient after = TestSocketClient.connect(ws(rs, ""), Map.of("Authorization", "Bearer "
        + TestJwks.sign(next, JWSAlgorithm.RS256, claims("rotating").build())), WAIT)) {
      assertEquals("rotating", after.awaitType("connection_established", WAIT).json().get("userId").asText());
    } finally {
      jwks.publish(RSA);
    }
  }

  @Order(4)
  @Test
  void aSlowConsumerIsClosedWithoutSlowingAnyoneElseAndLosesNothing() throws Exception {
    String slowUser = "slow-" + UUID.randomUUID().toString().substring(0, 8);
    try (CollectingSubscription requests = CollectingSubscription.onTopic(clients, TOPOLOGY.requestsTopic(),
            "it-slow-" + UUID.randomUUID());
        RawSocket slow = RawSocket.upgrade(hs.port(), "/ws?access_token=" + hsToken(claims(slowUser)),
            Map.of("Origin", ORIGIN), 4096);
        TestSocketClient other = open(hs, "bystander")) {
      assertEquals(101, slow.status());
      assertEquals("connection_established", typeOf(slow.read()));
      // the slow client reads nothing more; 400 messages of 16 KiB are far more than its buffers and queue hold
      routeMany(HS_NODE, slowUser, 400, 16 * 1024);
      RelayMessage forOther = message("bystander", "{\"k\":1}");
      long t0 = System.nanoTime();
      publisher.delivery(HS_NODE, forOther).get(5, TimeUnit.SECONDS);
      other.awaitFrame(f -> f.json().path("id").asText().equals(forOther.id()), WAIT);
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "the bystander was not held up");
      // what did not fit went back to relay-requests to be routed again, not dropped
      PubsubMessage back = requests.await(p -> HS_NODE.equals(p.getAttributesOrDefault(MessageAttributes.REROUTED_FROM,
          "")) && slowUser.equals(p.getAttributesOrDefault(MessageAttributes.USER_ID, "")), Duration.ofSeconds(30));
      assertTrue(back != null);
      // the server closes it: with 1013, or, for a client that reads nothing, by disconnecting after the grace
      int code = slow.awaitClose(Duration.ofSeconds(30));
      assertTrue(code == 1013 || code == RawSocket.NO_CLOSE_FRAME, "closed with " + code);
    }
  }

  /** {@code count} messages of {@code chars} characters of data for {@code user}, routed to {@code nodeId}. */
  private static void routeMany(String nodeId, String user, int count, int chars) throws Exception {
    String data = "\"" + "d".repeat(chars) + "\"";
    List<CompletableFuture<?>> sent = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      sent.add(publisher.delivery(nodeId, message(user, data)));
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
  }

  private static RelayMessage message(String user, String data) {
    return new RelayMessage(UUID.randomUUID().toString(), user, "agent_update", data, Instant.now(), 3600,
        Priority.NORMAL);
  }

  @Order(5)
  @Test
  void afterAllThatBothNodesStillServeANormalUser() throws Exception {
    for (SocketNode node : List.of(hs, rs)) {
      try (TestSocketClient c = open(node, "normal-user")) {
        RelayMessage m = message("normal-user", "{\"step\":1}");
        publisher.delivery(node == hs ? HS_NODE : JWKS_NODE, m).get(5, TimeUnit.SECONDS);
        assertEquals(1, c.awaitFrame(f -> f.json().path("id").asText().equals(m.id()), WAIT).json()
            .at("/data/step").asInt());
        c.send("{\"type\":\"ping\"}");
        c.awaitType("pong", WAIT);
      }
    }
  }

  // ---- the node's memory ----

  /**
   * A node whose sockets' queues may hold 150 KB together, less than one message of 100 KiB once queued (a
   * socket alone may hold 64 Mi characters here): a client that reads nothing while 150 such messages are
   * routed to it fills the socket buffers between node and client, then its queue passes the node's budget
   * and it is shed as a slow one; what it did not take goes back to be routed again, a bystander on the
   * node keeps receiving, and once the shed socket's queue is given back the node takes new sockets again.
   * The shed client starts reading only once the node has routed its messages again: a client that reads
   * before that is no longer slow, and nothing is shed.
   */
  @Test
  void aNodePastItsMemoryBudgetShedsTheSocketThatHoldsTheMost() throws Exception {
    String nodeId = "node-sec-tight";
    String hogUser = "hog-" + UUID.randomUUID().toString().substring(0, 8);
    SocketLimits limits = SocketLimits.defaults().withOutbound(100_000, 64 << 20).withMemoryBudget(150_000);
    Map<String, String> bystander = Map.of("Origin", ORIGIN, "Authorization", "Bearer "
        + hsToken(claims("bystander-tight")));
    try (SocketNode tight = new SocketNode(new NodeConfig(0, project.endpoints(), TOPOLOGY, nodeId,
            TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)), false, Optional.empty(), 100,
            List.of(ORIGIN), limits, Exposure.local()), Clock.systemUTC()).start();
        CollectingSubscription requests = CollectingSubscription.onTopic(clients, TOPOLOGY.requestsTopic(),
            "it-tight-" + UUID.randomUUID());
        RawSocket hog = RawSocket.upgrade(tight.port(), "/ws?access_token=" + hsToken(claims(hogUser)),
            Map.of("Origin", ORIGIN), 4096);
        TestSocketClient other = TestSocketClient.connect(ws(tight, ""), bystander, WAIT)) {
      other.awaitType("connection_established", WAIT);
      assertEquals(101, hog.status());
      assertEquals("connection_established", typeOf(hog.read()));
      routeMany(nodeId, hogUser, 150, 100 * 1024);
      PubsubMessage back = requests.await(p -> nodeId.equals(p.getAttributesOrDefault(MessageAttributes.REROUTED_FROM,
          "")) && hogUser.equals(p.getAttributesOrDefault(MessageAttributes.USER_ID, "")), Duration.ofSeconds(30));
      assertTrue(back != null, "what the shed socket did not take goes back to be routed again");
      // no ping deadline passes in this time: only the budget closed it
      int code = hog.awaitClose(Duration.ofSeconds(30));
      assertTrue(code == 1013 || code == RawSocket.NO_CLOSE_FRAME, "closed with " + code);
      RelayMessage forOther = message("bystander-tight", "{\"k\":1}");
      publisher.delivery(nodeId, forOther).get(5, TimeUnit.SECONDS);
      other.awaitFrame(f -> f.json().path("id").asText().equals(forOther.id()), WAIT);
      Await.until("the node takes sockets again", WAIT, () -> {
        try {
          return TestSocketClient.refusal(ws(tight, ""), bystander, WAIT).isEmpty();
        } catch (Exception e) {
          return false;
        }
      });
    }
  }

  // ---- the fleet ----

  /**
   * A user's sockets are counted across the fleet: with three on one node, a fourth on the node whose
   * limit is three is registered, counted and closed with 1013 before {@code connection_established};
   * once one of the three is gone (and the refused one's entry with it), a socket there is let in.
   */
  @Test
  void aSocketPastTheUsersFleetLimitIsClosedWith1013() throws Exception {
    String user = "fleet-" + UUID.randomUUID();
    var registry = new dev.pushrelay.gcp.FirestoreRegistryStore(clients.firestore(),
        dev.pushrelay.metrics.RelayMetrics.noop(dev.pushrelay.metrics.Part.SOCKET_NODE));
    List<TestSocketClient> held = new ArrayList<>();
    for (int i = 0; i < FLEET; i++) {
      held.add(open(hs, user));
    }
    Map<String, String> bearer = Map.of("Authorization", "Bearer " + hsToken(claims(user)));
    // the user's only socket on the other node is not counted; the next there is, and is one too many
    TestSocketClient only = TestSocketClient.connect(ws(cloud, ""), bearer, WAIT);
    only.awaitType("connection_established", WAIT);
    try (TestSocketClient past = TestSocketClient.connect(ws(cloud, ""), bearer, WAIT)) {
      assertEquals(1013, past.awaitClose(WAIT));
      assertTrue(past.frames().stream().noneMatch(f -> f.type().equals("connection_established")),
          past.frames().toString());
    }
    held.remove(0).close();
    held.remove(0).close();
    Await.until("the user's entries below the limit", WAIT,
        () -> registry.countConnections(user).join() == FLEET - 1);
    try (TestSocketClient in = TestSocketClient.connect(ws(cloud, ""), bearer, WAIT)) {
      in.awaitType("connection_established", WAIT);
    }
    only.close();
    held.forEach(TestSocketClient::close);
  }
}
