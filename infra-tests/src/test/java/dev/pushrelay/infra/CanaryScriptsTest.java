package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * scripts/deploy/canary.sh against a fake gcloud, and scripts/deploy/judge-canary.sh against a fake
 * Monitoring API: the canary gets traffic only once its revision is ready and runs the digest asked for;
 * the judge reads the alerts' queries on the revision's own series and fails a breached level.
 */
class CanaryScriptsTest {
  private static final String IMAGE = "us-central1-docker.pkg.dev/p/push-relay/socket-node@sha256:" + "ab".repeat(32);
  private static final String SERVICE = "relay-socket-node-production";
  private static final String TOKEN = "ya29.monitoring-token-never-printed";

  private static String describe(String created, String ready, String runs) {
    return """
        *latestCreatedRevisionName*) echo %s ;;
        *latestReadyRevisionName*) echo %s ;;
        "run revisions describe"*) echo %s ;;
        """.formatted(created, ready, runs);
  }

  @Test
  void aCanaryIsDeployedWithoutTrafficAndTaggedThenGivenItsShare() {
    FakeGcloud gcloud = new FakeGcloud("canary", describe("rev-2", "rev-2", IMAGE));
    Command.Result r = canary(gcloud, "start", "--image", IMAGE, "--percent", "5");
    assertEquals(0, r.exitCode(), r::describe);
    assertEquals("rev-2\n", r.stdout(), "the revision, for the judge and the rollback");
    String where = " --project=p --region=r --quiet";
    List<String> calls = gcloud.calls();
    assertEquals("gcloud run deploy " + SERVICE + " --image=" + IMAGE + " --no-traffic --tag=canary" + where,
        gcloud.calls("run deploy").get(0));
    assertEquals(List.of("gcloud run services update-traffic " + SERVICE + " --to-tags=canary=5" + where),
        gcloud.calls("update-traffic"));
    assertTrue(calls.indexOf(gcloud.calls("run deploy").get(0)) < calls.indexOf(gcloud.calls("update-traffic").get(0)));
  }

  @Test
  void noTrafficGoesToARevisionThatIsNotReadyOrRunsAnotherImage() {
    for (String arms : List.of(describe("rev-2", "rev-1", IMAGE), describe("rev-2", "rev-2", IMAGE.replace("ab", "cd")))) {
      FakeGcloud gcloud = new FakeGcloud("canary-refused", arms);
      Command.Result r = canary(gcloud, "start", "--image", IMAGE, "--percent", "5");
      assertNotEquals(0, r.exitCode(), r::describe);
      assertEquals(List.of(), gcloud.calls("update-traffic"), r.describe());
    }
  }

  @Test
  void aTagOrAnOversizedShareIsRefusedBeforeAnyCall() {
    FakeGcloud gcloud = new FakeGcloud("canary-tag", "");
    Command.Result tag = canary(gcloud, "start", "--image", IMAGE.replaceAll("@sha256:.*", ":latest"), "--percent", "5");
    assertNotEquals(0, tag.exitCode(), tag::describe);
    assertTrue(tag.stderr().contains("pinned by digest"), tag::describe);
    Command.Result half = canary(gcloud, "start", "--image", IMAGE, "--percent", "60");
    assertNotEquals(0, half.exitCode(), half::describe);
    assertEquals(List.of(), gcloud.calls());
  }

  @Test
  void promotionGoesToLatestWhenTheCanaryIsTheLatestRevisionElseByName() {
    FakeGcloud latest = new FakeGcloud("promote-latest", describe("rev-2", "rev-2", IMAGE));
    Command.Result r = canary(latest, "promote", "--revision", "rev-2");
    assertEquals(0, r.exitCode(), r::describe);
    assertEquals(List.of("gcloud run services update-traffic " + SERVICE + " --to-latest --project=p --region=r --quiet",
        "gcloud run services update-traffic " + SERVICE + " --remove-tags=canary --project=p --region=r --quiet"),
        latest.calls("update-traffic"));
    FakeGcloud pinned = new FakeGcloud("promote-pinned", describe("rev-3", "rev-3", IMAGE));
    Command.Result p = canary(pinned, "promote", "--revision", "rev-2");
    assertEquals(0, p.exitCode(), p::describe);
    assertTrue(pinned.calls("update-traffic").get(0).contains("--to-revisions=rev-2=100"), pinned.calls().toString());
  }

  // --- judge-canary.sh ---------------------------------------------------------------------------

  private static final String GOOD_SUCCESS = "0.9995";
  private static final String GOOD_DELIVERY = "0.99999";
  private static final String GOOD_P99 = "0.8";

  @Test
  void aCanaryThatHeldEveryLevelPassesAndItsQueriesAreTheAlertsOnItsOwnSeries() {
    try (FakeApi monitoring = monitoring(q -> null)) {
      Command.Result r = judge(monitoring);
      assertEquals(0, r.exitCode(), r::describe);
      List<String> queries = queries(monitoring);
      assertEquals(4, queries.size(), queries.toString());
      monitoring.requests().forEach(req -> {
        assertEquals("POST", req.method());
        assertEquals("/v1/projects/p/location/global/prometheus/api/v1/query", req.path());
        assertEquals("Bearer " + TOKEN, req.authorization());
      });
      queries.forEach(q -> assertTrue(q.contains("service_version=\"rev-9\"") && q.contains("[30m]"), q));
      // the alerts' queries (terraform/monitoring.tf), on the revision's series and the judging window
      TerraformConfig tf = TerraformConfig.load();
      String alertSuccess = tf.resolveText(tf.locals().get("promql").path("connection_success_rate").asText());
      String alertP99 = tf.resolveText(tf.locals().get("promql").path("connection_time_p99").asText());
      String resource = "{monitored_resource=\"generic_task\"";
      assertTrue(queries.contains(flat(alertSuccess.replace("[5m]", "[30m]")
          .replace(resource + ",", resource + ",service_version=\"rev-9\","))),
          queries + " holds the alert's " + alertSuccess);
      String revisionP99 = alertP99.replace(resource + "}[5m]", resource + ",service_version=\"rev-9\"}[30m]");
      assertTrue(queries.contains(flat(revisionP99)),
          queries + " holds the alert's " + alertP99);
      assertFalse((r.stdout() + r.stderr()).contains(TOKEN));
    }
  }

  @Test
  void aBreachedLevelFailsTheCanary() {
    for (Map.Entry<String, String> breach : Map.of("outcome=\"accepted\"", "0.998", "histogram_quantile", "+Inf",
        "websocket_message_delivery", "0.999").entrySet()) {
      try (FakeApi monitoring = monitoring(q -> q.contains(breach.getKey()) && !q.contains("increase(") ? breach.getValue() : null)) {
        Command.Result r = judge(monitoring);
        assertEquals(1, r.exitCode(), breach + "\n" + r.describe());
        assertTrue(r.stderr().contains("BREACHED"), r::describe);
      }
    }
    try (FakeApi monitoring = monitoring(q -> q.contains("histogram_quantile") ? "5.5" : null)) {
      assertEquals(1, judge(monitoring).exitCode());
    }
  }

  @Test
  void tooLittleDataIsNoVerdict() {
    try (FakeApi monitoring = monitoring(q -> q.contains("increase(") ? "12" : null)) {
      Command.Result r = judge(monitoring);
      assertEquals(2, r.exitCode(), r::describe);
    }
    try (FakeApi monitoring = monitoring(q -> q.contains("websocket_message_delivery") ? "" : null)) {
      Command.Result r = judge(monitoring);
      assertEquals(2, r.exitCode(), r::describe);
      assertTrue(r.stderr().contains("NO DATA  delivery rate"), r::describe);
    }
  }

  /** The Monitoring API: each query answered with {@code special}'s value (empty: no sample), else a good one. */
  private static FakeApi monitoring(Function<String, String> special) {
    return new FakeApi(r -> {
      String q = URLDecoder.decode(r.body().replaceFirst("^query=", ""), StandardCharsets.UTF_8);
      String value = special.apply(q);
      if (value == null) {
        value = q.contains("increase(") ? "1234" : q.contains("histogram_quantile") ? GOOD_P99
            : q.contains("websocket_message_delivery") ? GOOD_DELIVERY : GOOD_SUCCESS;
      }
      String result = value.isEmpty() ? "[]" : "[{\"metric\": {}, \"value\": [1767225600.123, \"" + value + "\"]}]";
      return FakeApi.Answer.ok("{\"status\": \"success\", \"data\": {\"resultType\": \"vector\", \"result\": " + result + "}}");
    }, () -> "");
  }

  private static List<String> queries(FakeApi monitoring) {
    List<String> out = new ArrayList<>();
    monitoring.requests().forEach(r -> out.add(flat(URLDecoder.decode(r.body().replaceFirst("^query=", ""), StandardCharsets.UTF_8))));
    return out;
  }

  private static String flat(String promql) {
    return promql.replaceAll("\\s+", " ").replace("( ", "(").replace(" )", ")").trim();
  }

  private static Command.Result judge(FakeApi monitoring) {
    FakeGcloud gcloud = new FakeGcloud("judge", "\"auth print-access-token\"*) echo " + TOKEN + " ;;");
    return gcloud.run(Repo.root(), Map.of("CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING", monitoring.root()),
        List.of("bash", Repo.root().resolve("scripts/deploy/judge-canary.sh").toString(), "--project", "p",
            "--revision", "rev-9", "--window", "30m"));
  }

  private static Command.Result canary(FakeGcloud gcloud, String... args) {
    List<String> command = new ArrayList<>(List.of("bash", Repo.root().resolve("scripts/deploy/canary.sh").toString()));
    command.addAll(List.of(args));
    command.addAll(List.of("--project", "p", "--region", "r", "--service", SERVICE));
    return gcloud.run(Repo.root(), Map.of(), command);
  }
}
