package dev.pushrelay.functions.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.functions.FakeHttp;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.InMemoryRevocations;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/users/{userId}/disconnect}: one control delivery per live node of the user, keyed by
 * the user; the revocation stored first; bad input refused and nothing changed.
 */
class DisconnectEndpointTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private final Topology topology = Topology.standard();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final InMemoryRevocations revocations = new InMemoryRevocations();
  private final MutableClock clock = new MutableClock(NOW);

  private FakeHttp.Response post(String path, String contentType, String body) throws Exception {
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, Optional.empty(),
        List.of());
    SendFunction function = new SendFunction(config, new RelayPublisher(pubsub, topology), registry,
        new InMemoryMailbox(), revocations, clock, () -> "id");
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(FakeHttp.request("POST", path, contentType, body.getBytes(StandardCharsets.UTF_8)), response);
    return response;
  }

  private FakeHttp.Response disconnect(String user, String body) throws Exception {
    return post("/v1/users/" + user + "/disconnect", body.isEmpty() ? null : "application/json", body);
  }

  private static JsonNode json(FakeHttp.Response r) throws Exception {
    return JsonCodec.read(r.body().getBytes(StandardCharsets.UTF_8));
  }

  /** u1 holds sockets on n1 (two) and n2; n3's lease ran out. */
  private void sockets() {
    registry.heartbeat("n1", NOW, NOW.plusSeconds(30));
    registry.heartbeat("n2", NOW, NOW.plusSeconds(30));
    registry.heartbeat("n3", NOW.minusSeconds(60), NOW.minusSeconds(30));
    registry.addConnection(new ConnectionRecord("c1", "u1", "n1", NOW));
    registry.addConnection(new ConnectionRecord("c2", "u1", "n1", NOW));
    registry.addConnection(new ConnectionRecord("c3", "u1", "n2", NOW));
    registry.addConnection(new ConnectionRecord("c4", "u1", "n3", NOW));
    registry.addConnection(new ConnectionRecord("c5", "u2", "n1", NOW));
  }

  @Test
  void eachLiveNodeOfTheUserGetsOneDisconnectOrderKeyedByTheUser() throws Exception {
    sockets();
    FakeHttp.Response r = disconnect("u1", "");
    assertEquals(202, r.status(), r.body());
    assertEquals(2, json(r).path("nodes").asInt());
    List<RecordingPublisher.Published> sent = pubsub.published();
    assertEquals(Set.of(topology.deliveriesTopicFor("n1"), topology.deliveriesTopicFor("n2")),
        sent.stream().map(RecordingPublisher.Published::topic).collect(Collectors.toSet()));
    for (RecordingPublisher.Published p : sent) {
      Map<String, String> a = p.message().attributes();
      assertEquals(MessageAttributes.CONTROL_DISCONNECT, a.get(MessageAttributes.CONTROL));
      assertEquals("u1", a.get(MessageAttributes.USER_ID));
      assertEquals("u1", p.message().orderingKey());
    }
    assertTrue(revocations.held().isEmpty(), "no revocation unless asked");
  }

  @Test
  void anUnknownUserIs202WithNothingToClose() throws Exception {
    FakeHttp.Response r = disconnect("nobody", "{}");
    assertEquals(202, r.status(), r.body());
    assertEquals(0, json(r).path("nodes").asInt());
    assertTrue(pubsub.published().isEmpty());
  }

  @Test
  void revokeIssuedBeforeIsStoredAndTheSocketsClosed() throws Exception {
    sockets();
    FakeHttp.Response r = disconnect("u1", "{\"revokeIssuedBefore\":\"2025-12-31T23:59:00+00:00\"}");
    assertEquals(202, r.status(), r.body());
    assertEquals(Map.of("u1", Instant.parse("2025-12-31T23:59:00Z")), revocations.held());
    assertEquals("2025-12-31T23:59:00Z", json(r).path("revokeIssuedBefore").asText());
    assertEquals(2, pubsub.published().size());
    // now itself is not in the future
    assertEquals(202, disconnect("u2", "{\"revokeIssuedBefore\":\"2026-01-01T00:00:00Z\"}").status());
  }

  @Test
  void badInputIsRefusedAndChangesNothing() throws Exception {
    sockets();
    assertRefused(disconnect("..", ""), 400, "userId");
    assertRefused(disconnect("__x__", ""), 400, "userId");
    assertRefused(disconnect("a%2Fb", ""), 400, "userId");
    assertRefused(post("/v1/users/a/b/disconnect", null, ""), 400, "userId");
    assertRefused(post("/v1/users//disconnect", null, ""), 400, "userId");
    assertRefused(disconnect("u1", "{\"revokeIssuedBefore\":\"2026-01-01T00:00:01Z\"}"), 400, "revokeIssuedBefore");
    assertRefused(disconnect("u1", "{\"revokeIssuedBefore\":\"yesterday\"}"), 400, "revokeIssuedBefore");
    assertRefused(disconnect("u1", "{\"revokeIssuedBefore\":\"2025-12-31T23:59:00\"}"), 400, "revokeIssuedBefore");
    assertRefused(disconnect("u1", "{\"revokeIssuedBefore\":1767225540}"), 400, "revokeIssuedBefore");
    assertRefused(disconnect("u1", "{\"revoke\":\"2025-12-31T23:59:00Z\"}"), 400, "revoke");
    assertRefused(disconnect("u1", "[1]"), 400, null);
    assertRefused(disconnect("u1", "{not json"), 400, null);
    assertEquals(415, post("/v1/users/u1/disconnect", "text/plain", "{}").status());
    assertEquals(413, disconnect("u1", "{\"revokeIssuedBefore\":\"" + "x".repeat(2000) + "\"}").status());
    assertTrue(pubsub.published().isEmpty(), "nothing published");
    assertTrue(revocations.held().isEmpty(), "nothing revoked");
  }

  @Test
  void onlyPostIsAllowed() throws Exception {
    FakeHttp.Response response = new FakeHttp.Response();
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, Optional.empty(),
        List.of());
    new SendFunction(config, new RelayPublisher(pubsub, topology), registry, new InMemoryMailbox(), revocations, clock,
        () -> "id").service(FakeHttp.request("GET", "/v1/users/u1/disconnect", null, new byte[0]), response);
    assertEquals(405, response.status());
    assertTrue(response.header("Allow").orElse("").contains("POST"));
  }

  @Test
  void pubSubRefusingAnOrderIs503WithRetryAfter() throws Exception {
    sockets();
    pubsub.failWith(new IllegalStateException("unavailable"));
    FakeHttp.Response r = disconnect("u1", "");
    assertEquals(503, r.status());
    assertEquals("1", r.header("Retry-After").orElseThrow());
  }

  private static void assertRefused(FakeHttp.Response r, int status, String field) throws Exception {
    assertEquals(status, r.status(), r.body());
    if (field != null) {
      assertEquals(field, json(r).at("/error/field").asText(), r.body());
    }
  }
}
