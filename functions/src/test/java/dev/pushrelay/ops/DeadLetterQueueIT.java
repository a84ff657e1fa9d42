package dev.pushrelay.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.gcp.TopologyBootstrap;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.LocalEmulators;
import dev.pushrelay.topology.Topology;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The dead-letter tool against the Pub/Sub emulator: list without consuming, replay by id, purge by reason. */
class DeadLetterQueueIT {
  private static final Topology TOPOLOGY = Topology.standard();
  private GcpEndpoints endpoints;
  private GcpClients clients;
  private PubSubMessagePublisher pubsub;
  private RelayPublisher publisher;

  @BeforeEach
  void start() {
    endpoints = LocalEmulators.shared().newProject();
    clients = new GcpClients(endpoints);
    new TopologyBootstrap(clients, TOPOLOGY).apply(Optional.empty());
    pubsub = new PubSubMessagePublisher(clients);
    publisher = new RelayPublisher(pubsub, TOPOLOGY);
  }

  @AfterEach
  void stop() {
    pubsub.close();
    clients.close();
  }

  private record Run(int code, String out, String err) {}

  private Run tool(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = DeadLettersMain.run(args, Map.of("GOOGLE_CLOUD_PROJECT", endpoints.projectId(),
            "PUBSUB_EMULATOR_HOST", endpoints.pubsubEmulatorHost().orElseThrow()),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
        Clock.systemUTC());
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private List<JsonNode> listed(String... selection) throws Exception {
    List<String> args = new ArrayList<>(List.of("list", "--json"));
    args.addAll(List.of(selection));
    Run r = tool(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    List<JsonNode> rows = new ArrayList<>();
    for (String line : r.out().split("\n")) {
      if (!line.isBlank()) {
        rows.add(JsonCodec.read(line.getBytes(StandardCharsets.UTF_8)));
      }
    }
    return rows;
  }

  private void deadLetter(String id, String user, DeadLetterReason reason, String data) throws Exception {
    publisher.deadLetter(data, Map.of(MessageAttributes.MESSAGE_ID, id, MessageAttributes.USER_ID, user), reason,
        "test " + reason.wireName()).get(10, TimeUnit.SECONDS);
  }

  private static List<String> ids(List<JsonNode> rows) {
    return rows.stream().map(r -> r.get("messageId").asText()).sorted().toList();
  }

  @Test
  void listsWithoutConsumingReplaysByIdKeepingTheIdAndPurgesByReason() throws Exception {
    String m1 = "{\"id\":\"m1\",\"userId\":\"u1\",\"event\":\"e\",\"sentAt\":\"2026-01-01T00:00:00Z\",\"ttlSeconds\":86400}";
    deadLetter("m1", "u1", DeadLetterReason.NO_CONNECTION_AFTER_RETRIES, m1);
    deadLetter("m2", "u2", DeadLetterReason.INVALID, "{\"event\":\"no user\"}");
    deadLetter("m3", "u3", DeadLetterReason.NO_CONNECTION_AFTER_RETRIES, "{\"id\":\"m3\"}");

    List<JsonNode> all = listed();
    assertEquals(List.of("m1", "m2", "m3"), ids(all));
    JsonNode first = all.stream().filter(r -> r.get("messageId").asText().equals("m1")).findFirst().orElseThrow();
    assertEquals("u1", first.get("userId").asText());
    assertEquals("no_connection_after_retries", first.get("reason").asText());
    assertTrue(first.get("ageSeconds").asLong() >= 0);
    assertFalse(first.has("data"), "the tool never prints message data");
    assertEquals(List.of("m1", "m2", "m3"), ids(listed()), "listing consumes nothing");
    assertEquals(List.of("m2"), ids(listed("--reason", "invalid")));

    try (CollectingSubscription requests = CollectingSubscription.existing(clients, TOPOLOGY.routerSubscription())) {
      Run replay = tool("replay", "m1");
      assertEquals(0, replay.code(), replay.err());
      assertTrue(replay.out().contains("replayed 1"), replay.out());
      PubsubMessage back = requests.await(
          m -> "m1".equals(m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, "")), Duration.ofSeconds(10));
      assertEquals(m1, back.getData().toStringUtf8(), "replayed untouched");
      assertEquals("u1", back.getAttributesOrThrow(MessageAttributes.USER_ID));
      assertFalse(back.containsAttributes(MessageAttributes.REASON), "the dead-letter reason is not carried back");
      assertEquals("no_connection_after_retries", back.getAttributesOrThrow(DeadLetterQueue.REPLAYED));
    }
    assertEquals(List.of("m2", "m3"), ids(listed()));

    Run purge = tool("purge", "--reason", "invalid");
    assertEquals(0, purge.code(), purge.err());
    assertEquals(List.of("m3"), ids(listed()));
  }

  @Test
  void replayAndPurgeWantAnExplicitSelection() {
    Run replay = tool("replay");
    assertEquals(2, replay.code());
    assertTrue(replay.err().contains("select exactly one"), replay.err());
    assertEquals(2, tool("purge", "--all", "--reason", "invalid").code());
    assertEquals(2, tool("drop").code());
  }
}
