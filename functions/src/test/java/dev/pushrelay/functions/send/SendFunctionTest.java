package dev.pushrelay.functions.send;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.functions.FakeHttp;
import dev.pushrelay.functions.FunctionConfig;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.testing.Seams;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.mailbox.Mailbox;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import dev.pushrelay.testing.InMemoryRevocations;

class SendFunctionTest {
  private final Topology topology = Topology.standard();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final AtomicInteger ids = new AtomicInteger();
  private final InMemoryMailbox mailbox = new InMemoryMailbox();

  private SendFunction function(Optional<String> apiKey) {
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, apiKey, List.of());
    return new SendFunction(config, new RelayPublisher(pubsub, topology), registry, mailbox, new InMemoryRevocations(), clock,
        () -> "id-" + ids.incrementAndGet());
  }

  private FakeHttp.Response post(String body) throws Exception {
    return call(FakeHttp.request("POST", "/v1/messages", "application/json", body.getBytes(StandardCharsets.UTF_8)));
  }

  private FakeHttp.Response call(FakeHttp.Request request) throws Exception {
    FakeHttp.Response response = new FakeHttp.Response();
    function(Optional.empty()).service(request, response);
    return response;
  }

  private static JsonNode json(FakeHttp.Response r) throws Exception {
    return JsonCodec.read(r.body().getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void acceptedOnlyOncePublishedWithIdAndAttributes() throws Exception {
    FakeHttp.Response r = post("{\"userId\":\"u1\",\"event\":\"agent_update\",\"data\":{\"step\":3}}");
    assertEquals(202, r.status());
    assertEquals("id-1", json(r).get("id").asText());
    List<RecordingPublisher.Published> sent = pubsub.on(topology.requestsTopic());
    assertEquals(1, sent.size());
    assertEquals("u1", sent.get(0).message().attributes().get(MessageAttributes.USER_ID));
    assertEquals("true", sent.get(0).message().attributes().get(MessageAttributes.NO_LIVE_NODE),
        "the route function may park it at once");
    assertEquals(1, mailbox.entries().size(), "parked before the 202: the user's next socket catches up on it");
    RelayMessage m = RelayMessage.parse(sent.get(0).message().data().getBytes(StandardCharsets.UTF_8));
    assertEquals("id-1", m.id());
    assertEquals(clock.instant(), m.sentAt());
  }

  /**
   * A sender's id is the user's message's identity: sent again with the same content (a retry) it is
   * accepted again; given to a message of other content it is refused with 409 and nothing is published,
   * where the relay would otherwise take the second message for a repeat and drop it. Another user may
   * have a message of the same id.
   */
  @Test
  void anIdReusedForOtherContentIs409AndARetryIsAccepted() throws Exception {
    assertEquals(202, post("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"order-42\",\"data\":{\"n\":1}}").status());
    assertEquals(202, post("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"order-42\",\"data\":{\"n\":1}}").status(),
        "a retry of the same message");
    int published = pubsub.on(topology.requestsTopic()).size();
    FakeHttp.Response reused = post("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"order-42\",\"data\":{\"n\":2}}");
    assertEquals(409, reused.status());
    assertEquals("id_reused", json(reused).at("/error/code").asText());
    assertEquals("id", json(reused).at("/error/field").asText());
    assertEquals(published, pubsub.on(topology.requestsTopic()).size(), "nothing published");
    assertEquals(202, post("{\"userId\":\"u2\",\"event\":\"e\",\"id\":\"order-42\",\"data\":{\"n\":2}}").status());
  }

  /** The id's record and the registry lookup go out together: a send waits for the slower, not the sum. */
  @Test
  void theRegistryLookupDoesNotWaitForTheIdsRecord() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    List<Integer> lookupsAtRecord = new java.util.ArrayList<>();
    RegistryStore counted = Seams.around(RegistryStore.class, registry, (self, method, args) -> {
      if (method.getName().equals("liveNodesHolding")) {
        lookups.incrementAndGet();
      }
      return Seams.PASS;
    });
    Mailbox watched = Seams.around(Mailbox.class, mailbox, (self, method, args) -> {
      if (method.getName().equals("recordId")) {
        lookupsAtRecord.add(lookups.get());
      }
      return Seams.PASS;
    });
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology, Optional.empty(),
        List.of());
    SendFunction function = new SendFunction(config, new RelayPublisher(pubsub, topology), counted, watched,
        new InMemoryRevocations(), clock, () -> "id-" + ids.incrementAndGet());
    FakeHttp.Response response = new FakeHttp.Response();
    function.service(FakeHttp.request("POST", "/v1/messages", "application/json",
        "{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"order-7\"}".getBytes(StandardCharsets.UTF_8)), response);
    assertEquals(202, response.status());
    assertEquals(List.of(1), lookupsAtRecord, "the lookup was under way when the id was recorded");
  }

  @Test
  void fanOutPublishesOnePerUserUnderOneId() throws Exception {
    FakeHttp.Response r = post("{\"userIds\":[\"a\",\"b\",\"c\"],\"event\":\"e\",\"id\":\"sender-7\"}");
    assertEquals(202, r.status());
    assertEquals("sender-7", json(r).get("id").asText());
    assertEquals(3, json(r).get("recipients").asInt());
    assertEquals(3, pubsub.on(topology.requestsTopic()).size());
  }

  @Test
  void badRequestNamesTheFieldAndPublishesNothing() throws Exception {
    FakeHttp.Response r = post("{\"userId\":\"u1\",\"event\":42}");
    assertEquals(400, r.status());
    assertEquals("event", json(r).at("/error/field").asText());
    assertTrue(pubsub.published().isEmpty());
  }

  @Test
  void wrongMethodIs405WithAllow() throws Exception {
    FakeHttp.Response r = call(FakeHttp.request("GET", "/v1/messages", null, new byte[0]));
    assertEquals(405, r.status());
    assertTrue(r.header("Allow").orElse("").contains("POST"));
  }

  @Test
  void notJsonIs415() throws Exception {
    FakeHttp.Response r = call(FakeHttp.request("POST", "/v1/messages", "text/plain", "hi".getBytes()));
    assertEquals(415, r.status());
  }

  @Test
  void oversizeIs413() throws Exception {
    FakeHttp.Response r = post("{\"userId\":\"u\",\"event\":\"e\",\"data\":\"" + "x".repeat(Limits.MAX_BODY_BYTES) + "\"}");
    assertEquals(413, r.status());
    assertTrue(pubsub.published().isEmpty());
  }

  @Test
  void pubSubRefusalIs503WithRetryAfter() throws Exception {
    pubsub.failWith(new IllegalStateException("unavailable"));
    FakeHttp.Response r = post("{\"userId\":\"u1\",\"event\":\"e\"}");
    assertEquals(503, r.status());
    assertEquals("1", r.header("Retry-After").orElseThrow());
  }

  @Test
  void apiKeyIsEnforcedWhenConfigured() throws Exception {
    FakeHttp.Request request = FakeHttp.request("POST", "/v1/messages", "application/json",
        "{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8));
    FakeHttp.Response refused = new FakeHttp.Response();
    function(Optional.of("k-123")).service(request, refused);
    assertEquals(401, refused.status());
    FakeHttp.Response accepted = new FakeHttp.Response();
    function(Optional.of("k-123")).service(request.header("X-Relay-Api-Key", "k-123"), accepted);
    assertEquals(202, accepted.status());
  }

  @Test
  void presenceFollowsLiveConnections() throws Exception {
    FakeHttp.Request ask = FakeHttp.request("GET", "/v1/users/u1/presence", null, new byte[0]);
    assertEquals(false, json(call(ask)).get("online").asBoolean());
    registry.addConnection(new ConnectionRecord("c1", "u1", "n1", clock.instant()));
    registry.heartbeat("n1", clock.instant(), clock.instant().plusSeconds(10));
    assertEquals(true, json(call(ask)).get("online").asBoolean());
  }

  /**
   * Presence is a permission of its own: only the accounts RELAY_PRESENCE_CALLERS names (by the e-mail in
   * the identity token Cloud Run checked) may ask; none when it is empty.
   */
  @Test
  void onlyTheAccountsNamedMayAskForPresence() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "u1", "n1", clock.instant()));
    registry.heartbeat("n1", clock.instant(), clock.instant().plusSeconds(10));
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology,
        Optional.empty(), List.of(), true, List.of("presence@p.iam.gserviceaccount.com"));
    SendFunction named = new SendFunction(config, new RelayPublisher(pubsub, topology), registry, mailbox,
        new InMemoryRevocations(), clock, () -> "id");
    java.util.function.Supplier<FakeHttp.Request> ask =
        () -> FakeHttp.request("GET", "/v1/users/u1/presence", null, new byte[0]);
    java.util.function.Function<String, FakeHttp.Response> asking = email -> {
      FakeHttp.Response r = new FakeHttp.Response();
      try {
        named.service(email == null ? ask.get()
            : ask.get().header("Authorization", "Bearer " + identityToken(email)), r);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return r;
    };
    assertEquals(200, asking.apply("presence@p.iam.gserviceaccount.com").status());
    assertEquals(403, asking.apply("sender@p.iam.gserviceaccount.com").status(), "an invoker, not named");
    assertEquals(403, asking.apply(null).status(), "no token");
    FakeHttp.Response garbled = new FakeHttp.Response();
    named.service(ask.get().header("Authorization", "Bearer not.a-token"), garbled);
    assertEquals(403, garbled.status());
    assertTrue(asking.apply("sender@p.iam.gserviceaccount.com").body().contains("RELAY_PRESENCE_CALLERS"));
    assertEquals(200, asking.apply("Presence@P.iam.gserviceaccount.com").status(), "e-mails compare without case");
    // with both headers Cloud Run checks X-Serverless-Authorization only: Authorization could say anything
    FakeHttp.Response posing = new FakeHttp.Response();
    named.service(ask.get()
        .header("X-Serverless-Authorization", "Bearer " + identityToken("sender@p.iam.gserviceaccount.com"))
        .header("Authorization", "Bearer " + identityToken("presence@p.iam.gserviceaccount.com")), posing);
    assertEquals(403, posing.status(), "an invoker posing as a presence caller in the unchecked header");
    FakeHttp.Response serverless = new FakeHttp.Response();
    named.service(ask.get().header("X-Serverless-Authorization",
        "Bearer " + identityToken("presence@p.iam.gserviceaccount.com")), serverless);
    assertEquals(200, serverless.status());

    FunctionConfig none = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology,
        Optional.empty(), List.of(), true, List.of());
    FakeHttp.Response off = new FakeHttp.Response();
    new SendFunction(none, new RelayPublisher(pubsub, topology), registry, mailbox, new InMemoryRevocations(), clock,
        () -> "id").service(ask.get().header("Authorization",
        "Bearer " + identityToken("presence@p.iam.gserviceaccount.com")), off);
    assertEquals(403, off.status(), "nobody named: nobody asks");
  }

  /** An identity token as Cloud Run passes it on: header, payload, and the signature cut off. */
  private static String identityToken(String email) {
    java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"email\":\"" + email + "\",\"aud\":\"https://send\"}")
            .getBytes(StandardCharsets.UTF_8)) + ".SIGNATURE_REMOVED_BY_GOOGLE";
  }

  /** A user id in the path is a percent-encoded segment: an e-mail's @ comes as %40, a + stays a +. */
  @Test
  void aUserIdInThePathIsPercentDecoded() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "ana+x@example.com", "n1", clock.instant()));
    registry.heartbeat("n1", clock.instant(), clock.instant().plusSeconds(10));
    FakeHttp.Request ask = FakeHttp.request("GET", "/v1/users/ana+x%40example.com/presence", null, new byte[0]);
    assertEquals(true, json(call(ask)).get("online").asBoolean());
    assertEquals("a b", SendFunction.userOf("/v1/users/a%20b/presence", SendFunction.PRESENCE_SUFFIX));
    assertEquals("100%", SendFunction.userOf("/v1/users/100%/presence", SendFunction.PRESENCE_SUFFIX),
        "what does not decode is left as it is, and refused as no user id");
    assertEquals(400, call(FakeHttp.request("GET", "/v1/users/100%/presence", null, new byte[0])).status());
  }

  @Test
  void unknownPathIs404() throws Exception {
    assertEquals(404, call(FakeHttp.request("POST", "/v2/whatever", "application/json", new byte[0])).status());
  }

  @Test
  void aUserWhoHoldsSocketsGetsTheMessageStraightFromItsNodesInOneHop() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-a", clock.instant()));
    registry.addConnection(new ConnectionRecord("c2", "u1", "node-b", clock.instant()));
    registry.heartbeat("node-a", clock.instant(), clock.instant().plusSeconds(12));
    registry.heartbeat("node-b", clock.instant(), clock.instant().plusSeconds(12));
    FakeHttp.Response r = post("{\"userId\":\"u1\",\"event\":\"e\",\"data\":1}");
    assertEquals(202, r.status());
    assertTrue(pubsub.on(topology.requestsTopic()).isEmpty(), "no route function on the way");
    List<RecordingPublisher.Published> deliveries = pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix());
    assertEquals(List.of("node-a", "node-b"), deliveries.stream()
        .map(p -> p.message().attributes().get(MessageAttributes.NODE_ID)).sorted().toList());
    RelayMessage m = RelayMessage.parse(deliveries.get(0).message().data().getBytes(StandardCharsets.UTF_8));
    assertEquals(json(r).get("id").asText(), m.id());
  }

  @Test
  void aNodeWhoseHeartbeatLapsedIsNotADirectRoute() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-a", clock.instant()));
    registry.heartbeat("node-a", clock.instant().minusSeconds(20), clock.instant().minusSeconds(8));
    assertEquals(202, post("{\"userId\":\"u1\",\"event\":\"e\"}").status());
    assertTrue(pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).isEmpty());
    assertEquals(1, pubsub.on(topology.requestsTopic()).size());
  }

  @Test
  void withTheDirectRouteOffEveryMessageTakesTheRoutePath() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-a", clock.instant()));
    registry.heartbeat("node-a", clock.instant(), clock.instant().plusSeconds(12));
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology,
        Optional.empty(), List.of(), false, List.of("*"));
    FakeHttp.Response r = new FakeHttp.Response();
    new SendFunction(config, new RelayPublisher(pubsub, topology), registry, new InMemoryMailbox(), new InMemoryRevocations(), clock, () -> "id-x")
        .service(FakeHttp.request("POST", "/v1/messages", "application/json",
            "{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8)), r);
    assertEquals(202, r.status());
    assertTrue(pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).isEmpty());
    assertEquals(1, pubsub.on(topology.requestsTopic()).size());
  }

  @Test
  void aRegistryThatFailsSendsTheMessageDownTheRetryPath() throws Exception {
    dev.pushrelay.registry.RegistryStore broken = (dev.pushrelay.registry.RegistryStore) java.lang.reflect.Proxy
        .newProxyInstance(getClass().getClassLoader(), new Class<?>[] {dev.pushrelay.registry.RegistryStore.class},
            (proxy, method, args) -> java.util.concurrent.CompletableFuture.failedFuture(
                new IllegalStateException("firestore unavailable")));
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology,
        Optional.empty(), List.of());
    FakeHttp.Response r = new FakeHttp.Response();
    new SendFunction(config, new RelayPublisher(pubsub, topology), broken, new InMemoryMailbox(), new InMemoryRevocations(), clock, () -> "id-y")
        .service(FakeHttp.request("POST", "/v1/messages", "application/json",
            "{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8)), r);
    assertEquals(202, r.status());
    assertEquals(1, pubsub.on(topology.requestsTopic()).size());
    assertEquals(null, pubsub.on(topology.requestsTopic()).get(0).message().attributes()
        .get(MessageAttributes.NO_LIVE_NODE), "nobody looked: the route function must");
  }

  /** A node retired between the lookup and the publish: its topic is gone, so the message takes the retry path. */
  @Test
  void aDirectRouteToARetiredNodeFallsBackToTheRetryPath() throws Exception {
    registry.addConnection(new ConnectionRecord("c1", "u1", "node-a", clock.instant()));
    registry.heartbeat("node-a", clock.instant(), clock.instant().plusSeconds(12));
    dev.pushrelay.pubsub.MessagePublisher retired = (topic, message) -> topic.startsWith(topology.deliveriesTopicPrefix())
        ? java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("NOT_FOUND: topic deleted"))
        : pubsub.publish(topic, message);
    FunctionConfig config = new FunctionConfig(GcpEndpoints.emulators("p", "h:1", "h:2"), topology,
        Optional.empty(), List.of());
    FakeHttp.Response r = new FakeHttp.Response();
    new SendFunction(config, new RelayPublisher(retired, topology), registry, new InMemoryMailbox(), new InMemoryRevocations(), clock, () -> "id-z")
        .service(FakeHttp.request("POST", "/v1/messages", "application/json",
            "{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8)), r);
    assertEquals(202, r.status());
    assertEquals(1, pubsub.on(topology.requestsTopic()).size(), "accepted through the retry path");
  }
}
