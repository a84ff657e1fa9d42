package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Operations on the whole local stack. The runbook: a message for a user who never connects is
 * dead-lettered; the operator sees it with {@code scripts/dead-letters.sh list}; the user connects;
 * {@code replay} sends it back with the same id and the user's socket receives it; the figures move on
 * every part's /metrics. And one message's trace, followed across the three parts through a local
 * OTLP receiver. (This test reads the dead letters only through the tool: a StackProbe would consume
 * them.)
 */
class OperationsIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);
  private static LocalStack stack;
  private static Path root;
  private static OtlpReceiver otlp;

  @BeforeAll
  static void start() throws Exception {
    root = LocalStack.repoRoot();
    otlp = OtlpReceiver.start();
    Map<String, String> env = new HashMap<>(FastRetry.ENV);
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint());
    env.put("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_BSP_SCHEDULE_DELAY", "200");
    stack = LocalStack.start(env);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      stack.close();
    } finally {
      otlp.close();
    }
  }

  private record Run(int code, String out, String err) {}

  /** Runs scripts/dead-letters.sh --local against this stack's emulator. */
  private static Run tool(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("bash", root.resolve("scripts/dead-letters.sh").toString(),
        "--local"));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(stack.logDir(), "tool-", ".out");
    Path err = Files.createTempFile(stack.logDir(), "tool-", ".err");
    ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("PUBSUB_PORT", Integer.toString(stack.port("PUBSUB_PORT")));
    pb.environment().remove("PUBSUB_EMULATOR_HOST");
    Process p = pb.start();
    if (!p.waitFor(TOOL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new TimeoutException("dead-letters.sh " + String.join(" ", args) + " did not finish");
    }
    return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static List<JsonNode> listed() throws Exception {
    Run r = tool("list", "--json");
    assertEquals(0, r.code(), r.err());
    List<JsonNode> rows = new ArrayList<>();
    for (String line : r.out().split("\n")) {
      if (!line.isBlank()) {
        rows.add(JsonCodec.read(line.getBytes(StandardCharsets.UTF_8)));
      }
    }
    return rows;
  }

  private static JsonNode awaitListed(String id) throws Exception {
    return Await.value("message " + id + " listed as a dead letter", Duration.ofSeconds(90),
        () -> Unchecked.get(OperationsIT::listed).stream()
            .filter(row -> row.get("messageId").asText().equals(id))
            .findFirst());
  }

  @Test
  void aDeadLetteredMessageIsListedThenReplayedToTheUserWhoConnectedSince() throws Exception {
    String user = "late-" + UUID.randomUUID().toString().substring(0, 8);
    String id = stack.sendEvent(user, "{\"step\":7}");

    JsonNode dead = awaitListed(id);
    assertEquals(user, dead.get("userId").asText());
    assertEquals("no_connection_after_retries", dead.get("reason").asText());
    assertTrue(dead.get("ageSeconds").asLong() >= 0);
    assertTrue(stack.metricsText("ROUTE_PORT")
        .contains("relay_dead_letter_total{reason=\"no_connection_after_retries\"}"),
        "the route function counts the dead letter");

    try (TestSocketClient socket = TestSocketClient.connect(stack.socket(1, stack.devToken(1, user)), Map.of(),
        WAIT)) {
      socket.awaitType("connection_established", WAIT);
      Run replay = tool("replay", id);
      assertEquals(0, replay.code(), replay.err());
      assertTrue(replay.out().contains("replayed 1"), replay.out());

      TestSocketClient.Frame frame = socket.awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
      assertEquals("message", frame.type());
      assertEquals("agent_update", frame.json().get("event").asText());
      assertEquals(7, frame.json().at("/data/step").asInt());
    }
    assertFalse(listed().stream().anyMatch(r -> r.get("messageId").asText().equals(id)),
        "a replayed message leaves the dead-letter subscription");
    assertTrue(stack.metricsText("NODE1_PORT").contains("websocket_message_delivery_total{outcome=\"delivered\"}"),
        "node 1 counts the delivery");
    assertTrue(stack.metricsText("SEND_PORT").contains("relay_messages_accepted_total"), "the send function counts it");
  }

  /**
   * A message for a connected user takes the direct route (send function straight to the node); a
   * fan-out request goes through the route function; a message parked for a user who connects later is
   * written by the mailbox catch-up. Each way, one trace reaches the socket write.
   */
  @Test
  void oneMessagesTraceRunsThroughEveryPartOnItsWay() throws Exception {
    String user = "traced-" + UUID.randomUUID().toString().substring(0, 8);
    String direct = UUID.randomUUID().toString().replace("-", "");
    String routed = UUID.randomUUID().toString().replace("-", "");
    String parked = UUID.randomUUID().toString().replace("-", "");
    double parkedBefore = stack.metric("ROUTE_PORT", "relay_mailbox_parked_total");
    String parkedId = traced(parked, "\"userId\":\"" + user + "\"");
    stack.awaitMetricAbove("ROUTE_PORT", "relay_mailbox_parked_total", parkedBefore, WAIT,
        () -> "the route function never parked " + parkedId);
    try (TestSocketClient socket = TestSocketClient.connect(stack.socket(2, stack.devToken(2, user)), Map.of(),
        WAIT)) {
      socket.awaitType("connection_established", WAIT);
      socket.awaitFrame(f -> f.json().path("id").asText().equals(parkedId), WAIT);
      for (String[] send : List.of(new String[] {direct, "\"userId\":\"" + user + "\""},
          new String[] {routed, "\"userIds\":[\"" + user + "\"]"})) {
        String id = traced(send[0], send[1]);
        socket.awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
      }
    }
    for (String part : List.of("send-function", "socket-node")) {
      otlp.awaitSpans(HexFormat.of().parseHex(direct), part, WAIT);
    }
    for (String trace : List.of(routed, parked)) {
      for (String part : List.of("send-function", "route-function", "socket-node")) {
        otlp.awaitSpans(HexFormat.of().parseHex(trace), part, WAIT);
      }
    }
  }

  /** Sends {@code recipient} (a JSON member) an event under trace {@code traceId}; its message id. */
  private static String traced(String traceId, String recipient) throws Exception {
    HttpResponse<String> accepted = HttpClient.newHttpClient().send(HttpRequest.newBuilder(stack.sendUrl())
        .header("Content-Type", "application/json")
        .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
        .POST(HttpRequest.BodyPublishers.ofString("{" + recipient + ",\"event\":\"traced\"}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(202, accepted.statusCode(), accepted.body());
    return LocalStack.json(accepted).get("id").asText();
  }
}
