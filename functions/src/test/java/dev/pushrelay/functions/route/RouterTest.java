package dev.pushrelay.functions.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkedMessage;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.MutableClock;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.testing.Seams;
import dev.pushrelay.topology.Topology;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class RouterTest {
  private final Topology topology = Topology.standard();
  private final RecordingPublisher pubsub = new RecordingPublisher();
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final InMemoryMailbox mailbox = new InMemoryMailbox();
  private final Router router = new Router(registry, mailbox, new RelayPublisher(pubsub, topology), topology, clock,
      RelayMetrics.noop(Part.ROUTE_FUNCTION));

  private PushEnvelope envelope(String json) {
    return new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), Map.of(), "ps-1", clock.instant(), Optional.empty());
  }

  private void connect(String user, String node) {
    registry.addConnection(new ConnectionRecord("c-" + user + node, user, node, clock.instant()));
    registry.heartbeat(node, clock.instant(), clock.instant().plusSeconds(12));
  }

  @Test
  void routesOneDeliveryPerLiveNodeHoldingTheUser() throws Exception {
    connect("u1", "node-a");
    connect("u1", "node-b");
    connect("u2", "node-c");
    assertEquals(RouteOutcome.ROUTED, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    List<RecordingPublisher.Published> deliveries = pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix());
    assertEquals(List.of("node-a", "node-b"), deliveries.stream()
        .map(p -> p.message().attributes().get(MessageAttributes.NODE_ID)).sorted().toList());
    assertEquals(List.of("relay-deliveries-node-a", "relay-deliveries-node-b"),
        deliveries.stream().map(RecordingPublisher.Published::topic).sorted().toList(), "each node's own topic");
    RelayMessage m = RelayMessage.parse(deliveries.get(0).message().data().getBytes(StandardCharsets.UTF_8));
    assertEquals("ps-1", m.id(), "a request without id takes the Pub/Sub message id");
  }

  @Test
  void nobodyHoldingTheUserParksTheMessageAndAsksForRetry() throws Exception {
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    assertTrue(pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).isEmpty());
    assertEquals(1, mailbox.entries().size());
    assertEquals(1, mailbox.entries().values().iterator().next().attempts());
  }

  @Test
  void theLastAttemptDeadLettersWithReasonAndEmptiesTheMailbox() throws Exception {
    int max = topology.retry().maxDeliveryAttempts();
    for (int i = 1; i < max; i++) {
      assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    }
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION,
        router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    List<RecordingPublisher.Published> dead = pubsub.on(topology.deadLetterTopic());
    assertEquals(1, dead.size());
    assertEquals("no_connection_after_retries", dead.get(0).message().attributes().get(MessageAttributes.REASON));
    assertTrue(mailbox.entries().isEmpty());
  }

  /** A high priority message has a retry window of its own: more attempts than a normal one. */
  @Test
  void aHighPriorityMessageIsRetriedForItsOwnNumberOfAttempts() throws Exception {
    String high = "{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"h-1\",\"priority\":\"high\"}";
    int normalMax = topology.retry().maxDeliveryAttempts();
    int highMax = topology.high().retry().maxDeliveryAttempts();
    assertTrue(highMax > normalMax, "high priority is retried more often");
    assertTrue(topology.high().retry().maxBackoffSeconds() < topology.retry().maxBackoffSeconds(),
        "on a shorter schedule");
    assertEquals(RouteOutcome.PENDING, router.route(exactAttempt(high, normalMax)).get(),
        "a normal message's last attempt is not a high one's");
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION, router.route(exactAttempt(high, highMax)).get());
  }

  /**
   * What Pub/Sub does with a request is its subscription's: a high one that came on the normal retry
   * subscription (published straight to relay-requests, or replayed there) is dead-lettered at that
   * subscription's last attempt, with its reason, not left to Pub/Sub's own policy.
   */
  @Test
  void theLastAttemptIsTheSubscriptionsThatPushedTheRequest() throws Exception {
    String high = "{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"h-2\",\"priority\":\"high\"}";
    int normalMax = topology.retry().maxDeliveryAttempts();
    PushEnvelope onNormal = new PushEnvelope(high.getBytes(StandardCharsets.UTF_8), Map.of(), "ps-h2", clock.instant(),
        Optional.of(normalMax), "projects/p/subscriptions/" + topology.routerSubscription());
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION, router.route(onNormal).get());
    PushEnvelope onHigh = new PushEnvelope(high.replace("h-2", "h-3").getBytes(StandardCharsets.UTF_8), Map.of(),
        "ps-h3", clock.instant(), Optional.of(normalMax), "projects/p/subscriptions/"
        + topology.high().routerSubscription());
    assertEquals(RouteOutcome.PENDING, router.route(onHigh).get());
  }

  /** Requests of high priority go to the retry topic of their own; normal ones to relay-requests. */
  @Test
  void requestsArePublishedToTheRetryTopicOfTheirPriority() throws Exception {
    RelayPublisher publisher = new RelayPublisher(pubsub, topology);
    publisher.request(RelayMessage.parse("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"a\",\"sentAt\":\"2026-01-01T00:00:00Z\",\"ttlSeconds\":60,\"priority\":\"high\"}"
        .getBytes(StandardCharsets.UTF_8)), Map.of()).get();
    publisher.request(RelayMessage.parse("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"b\",\"sentAt\":\"2026-01-01T00:00:00Z\",\"ttlSeconds\":60}"
        .getBytes(StandardCharsets.UTF_8)), Map.of()).get();
    assertEquals(1, pubsub.on(topology.high().requestsTopic()).size());
    assertEquals(1, pubsub.on(topology.requestsTopic()).size());
  }

  @Test
  void productionDeliveryAttemptIsHonoured() throws Exception {
    PushEnvelope last = new PushEnvelope("{\"userId\":\"u1\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8),
        Map.of(), "ps-9", clock.instant(), Optional.of(topology.retry().maxDeliveryAttempts()));
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION, router.route(last).get());
  }

  /**
   * A message a node dead-lettered from the mailbox (its user's sockets took it too often without an ack)
   * is settled for the retry subscription: the retry neither parks it again, nor routes it to the user who
   * is online now, nor dead-letters it a second time.
   */
  @Test
  void aMessageANodeDeadLetteredFromTheMailboxIsNotParkedRoutedOrDeadLetteredAgain() throws Exception {
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    String id = mailbox.entries().values().iterator().next().message().id();
    mailbox.deadLettered("u1", id, clock.instant()).get();
    connect("u1", "node-a");
    int published = pubsub.published().size();
    assertEquals(RouteOutcome.ALREADY_DEAD_LETTERED,
        router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    assertEquals(published, pubsub.published().size(), "no delivery, no second dead letter");
    assertEquals("dead_lettered", mailbox.entries().values().iterator().next().state());
  }

  /** An operator's replay of a handed-back dead letter starts afresh: parked again for a user who is offline. */
  @Test
  void aReplayOfAHandedBackDeadLetterIsParkedAfresh() throws Exception {
    byte[] data = "{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"m-9\"}".getBytes(StandardCharsets.UTF_8);
    assertEquals(RouteOutcome.PENDING, router.route(envelope(new String(data, StandardCharsets.UTF_8))).get());
    mailbox.deadLettered("u1", "m-9", clock.instant()).get();
    PushEnvelope replay = new PushEnvelope(data, Map.of(MessageAttributes.REPLAYED_REASON, "handed_back",
        MessageAttributes.NO_LIVE_NODE, "true"), "ps-replay", clock.instant(), Optional.empty());
    assertEquals(RouteOutcome.PENDING, router.route(replay).get());
    assertEquals("pending", mailbox.entries().values().iterator().next().state(), "parked again, not dropped");
  }

  @Test
  void aMessageDrainedFromTheMailboxIsNotRoutedOrDeadLetteredAgain() throws Exception {
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    List<ParkedMessage> claimed = mailbox.claim("u1", "c1", clock.instant()).get().messages();
    mailbox.delivered("u1", List.of(claimed.get(0).message().id()), clock.instant()).get();
    connect("u1", "node-a");
    assertEquals(RouteOutcome.ALREADY_DELIVERED,
        router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    // a duplicate push of the same message is settled by the same tombstone
    assertEquals(RouteOutcome.ALREADY_DELIVERED,
        router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    assertTrue(pubsub.on(topology.deadLetterTopic()).isEmpty());
    assertTrue(pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).isEmpty(), "no second copy for the socket that has it");
    assertEquals("delivered", mailbox.entries().values().iterator().next().state(),
        "the tombstone stays until its TTL");
  }

  @Test
  void withPubSubCountingAttemptsAWaitingEntryIsNotWrittenAgain() throws Exception {
    String json = "{\"userId\":\"u1\",\"event\":\"e\"}";
    assertEquals(RouteOutcome.PENDING, router.route(exactAttempt(json, 1)).get());
    InMemoryMailbox.Entry parked = mailbox.entries().values().iterator().next();
    assertEquals(RouteOutcome.PENDING, router.route(exactAttempt(json, 2)).get());
    assertEquals(RouteOutcome.PENDING, router.route(exactAttempt(json, 3)).get());
    assertEquals(parked, mailbox.entries().values().iterator().next(), "the entry is as the first attempt left it");
    assertEquals(RouteOutcome.DEAD_LETTERED_NO_CONNECTION,
        router.route(exactAttempt(json, topology.retry().maxDeliveryAttempts())).get());
    assertTrue(mailbox.entries().isEmpty());
  }

  @Test
  void aRetryOfAMessageWhoseEntryVanishedParksItAgainAndLooksForASocket() throws Exception {
    String json = "{\"userId\":\"u1\",\"event\":\"e\"}";
    assertEquals(RouteOutcome.PENDING, router.route(exactAttempt(json, 1)).get());
    mailbox.discard("u1", "ps-1").get();
    connect("u1", "node-a");
    assertEquals(RouteOutcome.ROUTED, router.route(exactAttempt(json, 2)).get());
    assertEquals(1, pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).size());
  }

  private PushEnvelope exactAttempt(String json, int attempt) {
    return new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), Map.of(), "ps-1", clock.instant(),
        Optional.of(attempt));
  }

  @Test
  void aRetryThatFindsTheUserRoutesAndMarksTheEntryRouted() throws Exception {
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    connect("u1", "node-a");
    assertEquals(RouteOutcome.ROUTED, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    assertEquals(1, pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).size());
    assertRouted();
  }

  /** The entry of a message a retry routed live: no look claims it, a catch-up under way shares it. */
  private void assertRouted() {
    assertEquals(List.of(Mailbox.STATE_ROUTED), mailbox.entries().values().stream()
        .map(InMemoryMailbox.Entry::state).toList(), "the retry marks the entry routed");
  }

  @Test
  void aNodeWhoseHeartbeatLapsedIsIgnored() throws Exception {
    connect("u1", "node-a");
    clock.advance(Duration.ofSeconds(13));
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
  }

  /**
   * A message that sockets closed on unacked is sent back with its re-route count; once past the bound,
   * its retries no longer route it live (a client that never acks cannot keep it circulating): it waits
   * in the mailbox for the next connect, or for the dead letter of its last attempt.
   */
  @Test
  void aMessageRoutedAgainTooOftenWaitsInTheMailboxInsteadOfGoingRoundAgain() throws Exception {
    connect("u3", "node-a");
    String json = "{\"userId\":\"u3\",\"event\":\"e\",\"id\":\"looping\"}";
    Map<String, String> once = Map.of(MessageAttributes.NO_LIVE_NODE, "true", MessageAttributes.REROUTES, "1");
    assertEquals(RouteOutcome.PENDING, router.route(new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), once,
        "ps-r1", clock.instant(), Optional.of(1))).get());
    assertEquals(RouteOutcome.ROUTED, router.route(new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), once,
        "ps-r1", clock.instant(), Optional.of(2))).get());
    List<RecordingPublisher.Published> live = pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix());
    assertEquals(2, live.size(), "live at the first attempt and routed at the retry");
    assertEquals("1", live.get(0).message().attributes().get(MessageAttributes.REROUTES), "the count travels on");

    Map<String, String> twice = Map.of(MessageAttributes.NO_LIVE_NODE, "true", MessageAttributes.REROUTES,
        Integer.toString(MessageAttributes.MAX_REROUTES));
    String again = "{\"userId\":\"u3\",\"event\":\"e\",\"id\":\"looping-2\"}";
    for (int attempt = 1; attempt <= 3; attempt++) {
      assertEquals(RouteOutcome.PENDING, router.route(new PushEnvelope(again.getBytes(StandardCharsets.UTF_8), twice,
          "ps-r2", clock.instant(), Optional.of(attempt))).get());
    }
    assertEquals(2, pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).size(), "not routed live again");
    assertTrue(mailbox.entries().keySet().stream().anyMatch(k -> k.endsWith("looping-2")), "it waits in the mailbox");
  }

  /** Published straight to relay-requests, a fan-out over the copy bound is dead-lettered, never split. */
  @Test
  void aFanOutWhoseCopiesPassTheBoundIsDeadLetteredAsInvalid() throws Exception {
    String users = java.util.stream.IntStream.range(0, 1000).mapToObj(i -> "\"u" + i + "\"")
        .collect(java.util.stream.Collectors.joining(","));
    String json = "{\"userIds\":[" + users + "],\"event\":\"e\",\"data\":\"" + "x".repeat(17 * 1024) + "\"}";
    assertEquals(RouteOutcome.DEAD_LETTERED_INVALID, router.route(envelope(json)).get());
    List<RecordingPublisher.Published> dead = pubsub.on(topology.deadLetterTopic());
    assertEquals(1, dead.size());
    assertTrue(dead.get(0).message().attributes().get(MessageAttributes.DETAIL).startsWith("userIds: the fan-out's"));
    assertEquals(0, pubsub.on(topology.requestsTopic()).size(), "no copy published");
  }

  @Test
  void invalidGoesStraightToDeadLetterWithReason() throws Exception {
    assertEquals(RouteOutcome.DEAD_LETTERED_INVALID, router.route(envelope("{\"event\":\"e\"}")).get());
    List<RecordingPublisher.Published> dead = pubsub.on(topology.deadLetterTopic());
    assertEquals(1, dead.size());
    assertEquals(DeadLetterReason.INVALID.wireName(), dead.get(0).message().attributes().get(MessageAttributes.REASON));
  }

  @Test
  void expiredGoesToDeadLetterWithReason() throws Exception {
    connect("u1", "node-a");
    String json = "{\"userId\":\"u1\",\"event\":\"e\",\"ttlSeconds\":5,\"sentAt\":\"2025-12-31T23:59:00Z\"}";
    assertEquals(RouteOutcome.DEAD_LETTERED_EXPIRED, router.route(envelope(json)).get());
    assertEquals("expired", pubsub.on(topology.deadLetterTopic()).get(0).message().attributes()
        .get(MessageAttributes.REASON));
  }

  @Test
  void fanOutIsSplitIntoOneRequestPerUser() throws Exception {
    assertEquals(RouteOutcome.FANNED_OUT,
        router.route(envelope("{\"userIds\":[\"a\",\"b\"],\"event\":\"e\"}")).get());
    assertEquals(2, pubsub.on(topology.requestsTopic()).size());
  }

  /**
   * A request whose sender found no live node is parked at once. A socket that came meanwhile gets it
   * live, and the entry stays, so that socket's catch-up, which may have read it first, keeps the accept
   * order (the live copy is then a repeat); the retry that finds it still waiting routes it and marks it routed.
   */
  @Test
  void aRequestWhoseSenderFoundNoLiveNodeIsParkedAtOnceAndKeptUntilItsRetry() throws Exception {
    connect("u2", "node-a");
    PushEnvelope first = new PushEnvelope("{\"userId\":\"u2\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8),
        Map.of(MessageAttributes.NO_LIVE_NODE, "true"), "ps-8", clock.instant(), Optional.of(1));
    assertEquals(RouteOutcome.PENDING, router.route(first).get());
    assertEquals(1, mailbox.entries().size(), "kept for the catch-up");
    assertEquals(1, pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).size(), "and sent live");
    PushEnvelope retry = new PushEnvelope("{\"userId\":\"u2\",\"event\":\"e\"}".getBytes(StandardCharsets.UTF_8),
        Map.of(MessageAttributes.NO_LIVE_NODE, "true"), "ps-8", clock.instant(), Optional.of(2));
    assertEquals(RouteOutcome.ROUTED, router.route(retry).get());
    assertRouted();
  }

  @Test
  void aRetryWhileASocketWritesTheMessageWaitsForItInsteadOfSendingASecondCopy() throws Exception {
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    mailbox.claim("u1", "c1", clock.instant()).get();
    connect("u1", "node-a");
    assertEquals(RouteOutcome.PENDING, router.route(envelope("{\"userId\":\"u1\",\"event\":\"e\"}")).get());
    assertTrue(pubsub.onTopicsStartingWith(topology.deliveriesTopicPrefix()).isEmpty());
    assertEquals("claimed", mailbox.entries().values().iterator().next().state());
  }

  /** A router whose registry reads each wait for {@code reads}' next future, in order. */
  private Router answeredByHand(List<CompletableFuture<Void>> reads) {
    RegistryStore held = Seams.around(RegistryStore.class, registry, (self, method, args) -> {
      if (!method.getName().equals("liveNodesHolding")) {
        return Seams.PASS;
      }
      CompletableFuture<Void> answer = new CompletableFuture<>();
      reads.add(answer);
      return answer.thenCompose(v -> registry.liveNodesHolding((String) args[0], (Instant) args[1]));
    });
    return new Router(held, mailbox, new RelayPublisher(pubsub, topology), topology, clock,
        RelayMetrics.noop(Part.ROUTE_FUNCTION));
  }

  @Test
  void overlappingFirstRoutesOfOneUserShareOneRegistryRead() throws Exception {
    connect("u1", "node-a");
    connect("u2", "node-b");
    List<CompletableFuture<Void>> reads = new CopyOnWriteArrayList<>();
    Router sharing = answeredByHand(reads);
    CompletableFuture<RouteOutcome> first = sharing.route(request("u1", "m1", Map.of()));
    CompletableFuture<RouteOutcome> second = sharing.route(request("u1", "m2", Map.of()));
    CompletableFuture<RouteOutcome> other = sharing.route(request("u2", "m3", Map.of()));
    assertEquals(2, reads.size(), "one read for u1's two routes, one for u2's");
    reads.forEach(r -> r.complete(null));
    assertEquals(RouteOutcome.ROUTED, first.get());
    assertEquals(RouteOutcome.ROUTED, second.get());
    assertEquals(RouteOutcome.ROUTED, other.get());
    List<String> toA = new ArrayList<>();
    for (RecordingPublisher.Published p : pubsub.on("relay-deliveries-node-a")) {
      toA.add(RelayMessage.parse(p.message().data().getBytes(StandardCharsets.UTF_8)).id());
    }
    assertEquals(List.of("m1", "m2"), toA, "both routed to the node the shared read found, in the order they came");

    CompletableFuture<RouteOutcome> later = sharing.route(request("u1", "m4", Map.of()));
    assertEquals(3, reads.size(), "a route that comes after the read answered reads again");
    reads.get(2).complete(null);
    assertEquals(RouteOutcome.ROUTED, later.get());
  }

  @Test
  void aSharedReadThatFailsFailsEveryRouteOnItAndTheNextRouteReadsAgain() throws Exception {
    connect("u1", "node-a");
    List<CompletableFuture<Void>> reads = new CopyOnWriteArrayList<>();
    Router sharing = answeredByHand(reads);
    CompletableFuture<RouteOutcome> first = sharing.route(request("u1", "m1", Map.of()));
    CompletableFuture<RouteOutcome> second = sharing.route(request("u1", "m2", Map.of()));
    assertEquals(1, reads.size());
    reads.get(0).completeExceptionally(new IllegalStateException("registry down"));
    assertTrue(first.isCompletedExceptionally() && second.isCompletedExceptionally(),
        "both routes fail, and Pub/Sub retries them");
    CompletableFuture<RouteOutcome> next = sharing.route(request("u1", "m3", Map.of()));
    assertEquals(2, reads.size(), "the failed read is not left under way");
    reads.get(1).complete(null);
    assertEquals(RouteOutcome.ROUTED, next.get());
  }

  @Test
  void aParkedMessagesLookForASocketReadsTheRegistryItself() throws Exception {
    connect("u1", "node-a");
    List<CompletableFuture<Void>> reads = new CopyOnWriteArrayList<>();
    Router sharing = answeredByHand(reads);
    sharing.route(request("u1", "m1", Map.of())); // a first route's read, under way
    mailbox.park(RelayMessage.parse(("{\"userId\":\"u1\",\"event\":\"e\",\"id\":\"m2\",\"sentAt\":\""
        + clock.instant() + "\"}").getBytes(StandardCharsets.UTF_8)), 1, true, 10, clock.instant()).get();
    CompletableFuture<RouteOutcome> parked = sharing.route(request("u1", "m2",
        Map.of(MessageAttributes.PARKED, "true")));
    assertEquals(2, reads.size(), "a look after the park must see a socket that registered before it: no shared read");
    reads.forEach(r -> r.complete(null));
    assertEquals(RouteOutcome.PENDING, parked.get(), "routed live, its entry left for the retry to settle");
    assertEquals(2, pubsub.on("relay-deliveries-node-a").size());
  }

  /** A first push of a request with its own id, as its own Pub/Sub message. */
  private PushEnvelope request(String user, String id, Map<String, String> attributes) {
    String json = "{\"userId\":\"" + user + "\",\"event\":\"e\",\"id\":\"" + id + "\"}";
    return new PushEnvelope(json.getBytes(StandardCharsets.UTF_8), attributes, "ps-" + id, clock.instant(),
        Optional.empty());
  }
}
