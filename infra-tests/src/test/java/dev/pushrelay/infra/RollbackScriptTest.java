package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * scripts/rollback.sh against a fake gcloud on the PATH and a fake Firestore REST API: in the cloud
 * the traffic moves first, then revisions/REVISION and then each of its nodes get retiredAt; on the
 * local stack only the Firestore half runs, on the emulator; any HTTP error stops it, and the access
 * token never shows.
 */
class RollbackScriptTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "ya29.secret-token-never-printed";
  private static final String DOCS = "/v1/projects/p/databases/(default)/documents";
  /** Ready revisions of the service, newest first, as gcloud run revisions list prints them. */
  private static final String CLOUD = """
      "run revisions list"*) printf 'relay-socket-node-production-00003-ccc\\nrelay-socket-node-production-00002-bbb\\nrelay-socket-node-production-00001-aaa\\n' ;;
      "auth print-access-token"*) echo %s ;;
      """.formatted(TOKEN);
  private static final String BAD = "relay-socket-node-production-00002-bbb";

  @Test
  void inTheCloudTrafficMovesFirstThenTheRevisionThenEachOfItsNodesIsRetired() throws IOException {
    FakeGcloud gcloud = new FakeGcloud("rollback", CLOUD);
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    try (FakeApi firestore = firestore(gcloud, r -> null)) {
      Command.Result result = cloud(gcloud, firestore, "--retire", BAD, "--project", "p", "--region", "r", "--service", "s");
      Instant after = Instant.now();
      assertEquals(0, result.exitCode(), result::describe);

      // the previous revision is the newest ready one created before the retired one, never a newer one
      List<String> moves = gcloud.calls("update-traffic");
      assertEquals(List.of("gcloud run services update-traffic s --to-revisions=relay-socket-node-production-00001-aaa=100"
          + " --quiet --project=p --region=r"), moves);

      List<FakeApi.Request> requests = firestore.requests();
      assertEquals(4, requests.size(), requests.toString());
      requests.forEach(r -> assertEquals("1", r.seen(), "the traffic had moved before " + r));
      requests.forEach(r -> assertEquals("Bearer " + TOKEN, r.authorization()));

      FakeApi.Request revision = requests.get(0);
      assertEquals("PATCH", revision.method());
      assertEquals(DOCS + "/revisions/" + BAD, revision.path());
      assertEquals("updateMask.fieldPaths=retiredAt", revision.query());
      Instant retiredAt = retiredAt(revision);
      assertTrue(!retiredAt.isBefore(before) && !retiredAt.isAfter(after), "retiredAt is now: " + retiredAt);

      FakeApi.Request query = requests.get(1);
      assertEquals("POST", query.method());
      assertEquals(DOCS + ":runQuery", query.path());
      JsonNode structured = JSON.readTree(query.body()).path("structuredQuery");
      assertEquals("nodes", structured.path("from").path(0).path("collectionId").asText());
      JsonNode filter = structured.path("where").path("fieldFilter");
      assertEquals("revision", filter.path("field").path("fieldPath").asText());
      assertEquals("EQUAL", filter.path("op").asText());
      assertEquals(BAD, filter.path("value").path("stringValue").asText());

      for (int i = 0; i < 2; i++) {
        FakeApi.Request node = requests.get(2 + i);
        assertEquals("PATCH", node.method());
        assertEquals(DOCS + "/nodes/node-" + (char) ('a' + i), node.path());
        assertEquals(Set.of("updateMask.fieldPaths=retiredAt", "currentDocument.exists=true"),
            Set.of(node.query().split("&")), "only retiredAt changes, and only on a node document that exists");
        assertEquals(retiredAt, retiredAt(node), "the node documents carry the revision's retiredAt");
        assertEquals(Set.of("retiredAt"), fieldNames(node));
      }
      assertTrue(result.stdout().contains("marked 2 node document"), result::describe);
      assertFalse((result.stdout() + result.stderr()).contains(TOKEN), "the token never shows");
    }
  }

  @Test
  void withToItRollsBackToThatRevisionWithoutLookingForOne() {
    FakeGcloud gcloud = new FakeGcloud("rollback-to", CLOUD);
    try (FakeApi firestore = firestore(gcloud, r -> null)) {
      Command.Result result = cloud(gcloud, firestore, "--retire", BAD, "--to", "relay-socket-node-production-00003-ccc",
          "--project", "p", "--region", "r", "--service", "s");
      assertEquals(0, result.exitCode(), result::describe);
      assertEquals(List.of(), gcloud.calls("revisions list"));
      assertEquals(1, gcloud.calls("--to-revisions=relay-socket-node-production-00003-ccc=100").size(), gcloud.calls().toString());
    }
  }

  @Test
  void whenTheTrafficDoesNotMoveNothingIsRetired() {
    FakeGcloud gcloud = new FakeGcloud("rollback-no-traffic", CLOUD + """
        "run services update-traffic"*) echo "ERROR: (gcloud.run.services.update-traffic) PERMISSION_DENIED" >&2; exit 1 ;;
        """);
    try (FakeApi firestore = firestore(gcloud, r -> null)) {
      Command.Result result = cloud(gcloud, firestore, "--retire", BAD, "--project", "p", "--region", "r", "--service", "s");
      assertNotEquals(0, result.exitCode(), result::describe);
      assertTrue(result.stderr().contains("NOT retired"), result::describe);
      assertEquals(List.of(), firestore.requests(), "a revision that still serves is never retired");
    }
  }

  @Test
  void anHttpErrorOnTheRevisionDocumentStopsItLoudly() {
    FakeGcloud gcloud = new FakeGcloud("rollback-403", CLOUD);
    String denied = "{\"error\":{\"code\":403,\"message\":\"Missing or insufficient permissions.\",\"status\":\"PERMISSION_DENIED\"}}";
    try (FakeApi firestore = firestore(gcloud, r -> r.path().contains("/revisions/") ? new FakeApi.Answer(403, denied) : null)) {
      Command.Result result = cloud(gcloud, firestore, "--retire", BAD, "--project", "p", "--region", "r", "--service", "s");
      assertNotEquals(0, result.exitCode(), result::describe);
      assertTrue(result.stderr().contains("Missing or insufficient permissions."), result::describe);
      assertEquals(1, firestore.requests().size(), "nothing after the failed write: " + firestore.requests());
      assertFalse((result.stdout() + result.stderr()).contains(TOKEN));
    }
  }

  @Test
  void anHttpErrorOnANodeStopsItAndANodeThatLeftMeanwhileIsSkipped() {
    FakeGcloud gcloud = new FakeGcloud("rollback-node-500", CLOUD);
    try (FakeApi firestore = firestore(gcloud,
        r -> r.path().endsWith("/nodes/node-a") ? new FakeApi.Answer(500, "{\"error\":{\"code\":500,\"message\":\"boom\"}}") : null)) {
      Command.Result result = cloud(gcloud, firestore, "--retire", BAD, "--project", "p", "--region", "r", "--service", "s");
      assertNotEquals(0, result.exitCode(), result::describe);
      assertTrue(result.stderr().contains("boom") && result.stderr().contains("500"), result::describe);
    }
    FakeGcloud again = new FakeGcloud("rollback-node-404", CLOUD);
    try (FakeApi firestore = firestore(again,
        r -> r.path().endsWith("/nodes/node-a") ? new FakeApi.Answer(404, "{\"error\":{\"code\":404,\"status\":\"NOT_FOUND\"}}") : null)) {
      Command.Result result = cloud(again, firestore, "--retire", BAD, "--project", "p", "--region", "r", "--service", "s");
      assertEquals(0, result.exitCode(), result::describe);
      assertTrue(result.stdout().contains("marked 1 node document(s), 1 gone meanwhile"), result::describe);
    }
  }

  @Test
  void onTheLocalStackItRetiresOnTheEmulatorAndTouchesNoCloud() throws IOException {
    FakeGcloud gcloud = new FakeGcloud("rollback-local", CLOUD);
    try (FakeApi emulator = firestore(gcloud, r -> null)) {
      Command.Result result = gcloud.run(Repo.root(), Map.of("FIRESTORE_EMULATOR_HOST", emulator.hostPort(),
          "GOOGLE_CLOUD_PROJECT", "relay-local"), List.of("bash", script(), "--retire", "local-1"));
      assertEquals(0, result.exitCode(), result::describe);
      assertEquals(List.of(), gcloud.calls(), "no gcloud on the local stack");
      List<FakeApi.Request> requests = emulator.requests();
      assertEquals(4, requests.size(), requests.toString());
      String docs = "/v1/projects/relay-local/databases/(default)/documents";
      assertEquals(List.of("PATCH " + docs + "/revisions/local-1", "POST " + docs + ":runQuery",
          "PATCH " + docs + "/nodes/node-a", "PATCH " + docs + "/nodes/node-b"),
          requests.stream().map(r -> r.method() + " " + r.path()).toList());
      requests.forEach(r -> assertEquals("Bearer owner", r.authorization()));
      assertEquals("local-1", JSON.readTree(requests.get(1).body()).path("structuredQuery").path("where")
          .path("fieldFilter").path("value").path("stringValue").asText());
    }
  }

  @Test
  void anEmulatorVariableLeftInTheShellWithCloudFlagsIsRefused() {
    FakeGcloud gcloud = new FakeGcloud("rollback-mixed", CLOUD);
    try (FakeApi emulator = firestore(gcloud, r -> null)) {
      Command.Result result = gcloud.run(Repo.root(), Map.of("FIRESTORE_EMULATOR_HOST", emulator.hostPort(),
          "GOOGLE_CLOUD_PROJECT", "relay-local"), List.of("bash", script(), "--retire", BAD, "--service", "s"));
      assertNotEquals(0, result.exitCode(), result::describe);
      assertTrue(result.stderr().contains("FIRESTORE_EMULATOR_HOST"), result::describe);
      assertEquals(List.of(), emulator.requests());
      assertEquals(List.of(), gcloud.calls());
    }
  }

  /** Firestore: answers by {@code special} when it returns an answer, else as the real API does. */
  private static FakeApi firestore(FakeGcloud gcloud, Function<FakeApi.Request, FakeApi.Answer> special) {
    return new FakeApi(r -> {
      FakeApi.Answer a = special.apply(r);
      if (a != null) {
        return a;
      }
      if (r.path().endsWith(":runQuery")) {
        String prefix = r.path().substring("/v1/".length(), r.path().length() - ":runQuery".length());
        // as the API prints it: pretty, with the document names in full
        return FakeApi.Answer.ok("""
            [{
              "document": {
                "name": "%1$s/nodes/node-a",
                "createTime": "2026-01-01T00:00:00.000001Z",
                "updateTime": "2026-01-01T00:00:04.000001Z"
              },
              "readTime": "2026-01-01T00:00:05.000001Z"
            },
            {
              "document": {
                "name": "%1$s/nodes/node-b",
                "createTime": "2026-01-01T00:00:00.000001Z",
                "updateTime": "2026-01-01T00:00:04.000001Z"
              },
              "readTime": "2026-01-01T00:00:05.000001Z"
            }
            ]
            """.formatted(prefix));
      }
      return FakeApi.Answer.ok("{\"name\": \"" + r.path().substring("/v1/".length()) + "\", \"fields\": {}}");
    }, () -> String.valueOf(gcloud.calls("update-traffic").size()));
  }

  private static Command.Result cloud(FakeGcloud gcloud, FakeApi firestore, String... args) {
    List<String> command = new ArrayList<>(List.of("env", "-u", "FIRESTORE_EMULATOR_HOST", "-u", "GOOGLE_CLOUD_PROJECT",
        "bash", script()));
    command.addAll(List.of(args));
    return gcloud.run(Repo.root(), Map.of("CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE", firestore.root()), command);
  }

  private static Instant retiredAt(FakeApi.Request r) {
    try {
      return Instant.parse(JSON.readTree(r.body()).path("fields").path("retiredAt").path("timestampValue").asText());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Set<String> fieldNames(FakeApi.Request r) {
    try {
      Set<String> names = new java.util.TreeSet<>();
      JSON.readTree(r.body()).path("fields").fieldNames().forEachRemaining(names::add);
      return names;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String script() {
    return Repo.root().resolve("scripts/rollback.sh").toString();
  }
}
