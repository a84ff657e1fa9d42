package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No log line of the relay at INFO or above holds a user id (#26): user ids may be e-mail addresses,
 * and the logs show their pseudonyms instead. The whole local stack is driven through every path that
 * logs about a user: a socket opens and closes, a message is written and acked, the client publishes
 * and the echo backend answers, presence is asked, a message for an offline user is parked, retried,
 * dead-lettered, and replayed to the socket the user opened since. Then every line of every log file of
 * the relay's parts (the emulators' own logs are not the relay's) is read: a JSON line at INFO, WARNING
 * or ERROR, and any line that is not JSON (a stack trace, a framework's banner), must not hold either
 * user id, plain or URL-encoded. The pseudonyms, which the node logs at open and close, must be there.
 */
class PseudonymousLogsIT {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);
  /** Log files of processes the relay does not own. */
  private static final Set<String> NOT_OURS = Set.of("pubsub-emulator.log", "firestore-emulator.log", "build.log");
  private static final Set<String> BELOW_INFO = Set.of("DEBUG", "TRACE", "DEFAULT");

  private static LocalStack stack;
  private static Path root;
  private static Path toolOutput;

  @BeforeAll
  static void start() throws Exception {
    root = LocalStack.repoRoot();
    toolOutput = Files.createTempDirectory(root.resolve("e2e/target"), "pseudonymous-tool-");
    stack = LocalStack.start(FastRetry.ENV);
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  @Test
  void noLogLineAtInfoOrAboveHoldsAUserId() throws Exception {
    String tag = UUID.randomUUID().toString().substring(0, 8);
    String online = "ana.online." + tag + "@example.com";
    String offline = "olaf.offline." + tag + "@example.com";

    // a user with a socket: a message written and acked, a publish the echo backend answers, presence
    try (TestSocketClient ana = connect(1, online)) {
      HttpResponse<String> sent = stack.send("application/json",
          "{\"userId\":\"" + online + "\",\"event\":\"agent_update\",\"data\":{\"step\":1}}");
      assertEquals(202, sent.statusCode(), sent.body());
      String id = LocalStack.json(sent).get("id").asText();
      ana.awaitFrame(f -> f.json().path("id").asText().equals(id), WAIT);
      ana.send("{\"type\":\"publish\",\"id\":\"p-" + tag + "\",\"event\":\"echo\",\"data\":{\"hello\":1}}");
      ana.awaitType("accepted", WAIT);
      ana.awaitFrame(f -> f.type().equals("message") && f.json().path("event").asText().equals("echo"), WAIT);
      HttpResponse<String> presence = stack.get(stack.sendUrl().resolve("/v1/users/"
          + URLEncoder.encode(online, StandardCharsets.UTF_8) + "/presence"));
      assertEquals(200, presence.statusCode(), presence.body());
    }

    // a user without one: parked, retried, dead-lettered, then replayed to the socket opened since
    HttpResponse<String> parked = stack.send("application/json",
        "{\"userId\":\"" + offline + "\",\"event\":\"agent_update\",\"data\":{\"step\":2}}");
    assertEquals(202, parked.statusCode(), parked.body());
    String parkedId = LocalStack.json(parked).get("id").asText();
    awaitDeadLetter(parkedId);
    try (TestSocketClient olaf = connect(2, offline)) {
      int replayed = tool("replay", parkedId);
      assertEquals(0, replayed, "the replay tool ran");
      olaf.awaitFrame(f -> f.json().path("id").asText().equals(parkedId), WAIT);
    }

    // both sockets' closes are logged before the logs are read
    String anaSeen = Pseudonyms.derivedFrom(Pseudonyms.LOCAL_PROJECT).of(online);
    String olafSeen = Pseudonyms.derivedFrom(Pseudonyms.LOCAL_PROJECT).of(offline);
    Await.until("both closes in the nodes' logs", WAIT,
        () -> count("closed for user " + anaSeen) >= 1 && count("closed for user " + olafSeen) >= 1);

    List<String> leaks = new ArrayList<>();
    int read = 0;
    for (Path file : relayLogs()) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        read++;
        if (atInfoOrAbove(line) && holdsAny(line, online, offline)) {
          leaks.add(file.getFileName() + ": " + line);
        }
      }
    }
    assertTrue(read > 0, "no log lines were read in " + stack.logDir());
    assertEquals(List.of(), leaks, "log lines at INFO or above that hold a user id");
  }

  private static TestSocketClient connect(int node, String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(stack.socket(node,
        stack.devToken(node, URLEncoder.encode(user, StandardCharsets.UTF_8))), Map.of(), WAIT);
    JsonNode established = c.awaitType("connection_established", WAIT).json();
    assertEquals(user, established.get("userId").asText());
    return c;
  }

  /** The log files of the relay's parts: the functions, the nodes, the echo backend, the bootstrap. */
  private static List<Path> relayLogs() throws IOException {
    try (Stream<Path> files = Files.list(stack.logDir())) {
      return files.filter(f -> f.getFileName().toString().endsWith(".log"))
          .filter(f -> !NOT_OURS.contains(f.getFileName().toString()))
          .sorted().toList();
    }
  }

  private static long count(String text) {
    try {
      long n = 0;
      for (Path file : relayLogs()) {
        n += Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> l.contains(text)).count();
      }
      return n;
    } catch (IOException e) {
      return 0;
    }
  }

  /** A JSON line by its severity; any other line counts as INFO, since nothing says it is less. */
  private static boolean atInfoOrAbove(String line) {
    if (line.isBlank()) {
      return false;
    }
    try {
      JsonNode json = JsonCodec.read(line.getBytes(StandardCharsets.UTF_8));
      return !BELOW_INFO.contains(json.path("severity").asText("INFO"));
    } catch (IOException notJson) {
      return true;
    }
  }

  private static boolean holdsAny(String line, String... users) {
    String lower = line.toLowerCase(java.util.Locale.ROOT);
    for (String user : users) {
      String local = user.substring(0, user.indexOf('@')).toLowerCase(java.util.Locale.ROOT);
      if (lower.contains(local) || lower.contains(URLEncoder.encode(user, StandardCharsets.UTF_8)
          .toLowerCase(java.util.Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  /** Waits until the dead-letter tool lists {@code id}; read through the tool, which does not consume. */
  private static void awaitDeadLetter(String id) throws Exception {
    Await.value("message " + id + " listed as a dead letter", Duration.ofSeconds(90), () -> {
      try {
        return listedIds().contains(id) ? Optional.of(true) : Optional.empty();
      } catch (Exception e) {
        return Optional.empty();
      }
    });
  }

  private static List<String> listedIds() throws Exception {
    Path out = Files.createTempFile(toolOutput, "list-", ".out");
    assertEquals(0, run(out, "list", "--json"));
    List<String> ids = new ArrayList<>();
    for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        ids.add(JsonCodec.read(line.getBytes(StandardCharsets.UTF_8)).get("messageId").asText());
      }
    }
    return ids;
  }

  /** Runs scripts/dead-letters.sh --local; its output (which lists user ids, for the operator) goes elsewhere. */
  private static int tool(String... args) throws Exception {
    return run(Files.createTempFile(toolOutput, "tool-", ".out"), args);
  }

  private static int run(Path out, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("bash", root.resolve("scripts/dead-letters.sh").toString(),
        "--local"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile())
        .redirectOutput(out.toFile()).redirectError(out.resolveSibling(out.getFileName() + ".err").toFile());
    pb.environment().put("PUBSUB_PORT", Integer.toString(stack.port("PUBSUB_PORT")));
    pb.environment().remove("PUBSUB_EMULATOR_HOST");
    Process p = pb.start();
    if (!p.waitFor(TOOL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new TimeoutException("dead-letters.sh " + String.join(" ", args) + " did not finish");
    }
    return p.exitValue();
  }
}
