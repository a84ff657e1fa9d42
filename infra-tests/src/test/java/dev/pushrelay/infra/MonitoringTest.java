package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.infra.TerraformConfig.Block;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Monitoring as code stays wired to what the relay exports: the dead-letter alert, the seed's four
 * service-level alerts, a dashboard, and no query on a metric name the Java code does not define.
 */
class MonitoringTest {
  private static final Pattern INSTRUMENT = Pattern.compile("public static final String [A-Z_]+ = \"((?:websocket|relay)\\.[a-z_.]+)\";");
  private static final Pattern QUERIED = Pattern.compile("\\b((?:websocket|relay)_[a-z_]+)\\b");
  /** Terraform identifiers in monitoring.tf that look like metric names. */
  private static final Set<String> TERRAFORM_NAMES = Set.of("relay_alerts");
  private static final Pattern SUFFIX = Pattern.compile("(_seconds)?(_total|_bucket|_count|_sum)?$");

  @Test
  void theDeadLetterAlertAndTheSeedsServiceLevelAlertsExistWithTheirThresholds() throws IOException {
    TerraformConfig tf = TerraformConfig.load();
    List<Block> policies = tf.resources("google_monitoring_alert_policy");
    assertTrue(policies.stream().anyMatch(p -> p.name().equals("dead_letter")), "the dead-letter alert stays");
    String monitoring = Files.readString(Repo.root().resolve("terraform/monitoring.tf"));
    for (String threshold : List.of(") < 0.99\"", ") < 0.995\"", "connection_time_p99} > 5\"",
        "route_attempts_p95} > 2\"")) {
      assertTrue(monitoring.contains(threshold), "alert with " + threshold);
    }
    assertTrue(monitoring.contains("websocket_connection_time_bucket"));
    assertTrue(monitoring.contains("relay_route_attempts_bucket"));
    assertEquals(1, tf.resources("google_monitoring_dashboard").size(), "one dashboard");
    for (Block p : policies) {
      String channels = p.text("notification_channels");
      assertEquals("${local.alert_channels}", channels, p.address() + " notifies the configured channels");
    }
  }

  /** Pub/Sub metrics Cloud Monitoring lists as deprecated, with what replaces them. */
  private static final List<String> DEPRECATED_PUBSUB = List.of("topic/send_message_operation_count",
      "subscription/pull_ack_message_operation_count", "subscription/pull_message_operation_count",
      "subscription/streaming_pull_message_operation_count", "subscription/streaming_pull_ack_message_operation_count",
      "subscription/streaming_pull_mod_ack_deadline_message_operation_count",
      "subscription/mod_ack_deadline_message_operation_count");

  @Test
  void theDeadLetterAlertCountsPublishesWithTheCurrentMetric() throws IOException {
    TerraformConfig tf = TerraformConfig.load();
    Block deadLetter = tf.resource("google_monitoring_alert_policy", "dead_letter").orElseThrow();
    String filter = deadLetter.text("conditions", "condition_threshold", "filter");
    assertTrue(filter.contains("metric.type = \"pubsub.googleapis.com/topic/send_request_count\""), filter);
    assertTrue(filter.contains("resource.type = \"pubsub_topic\""), filter);
    assertTrue(filter.contains("${google_pubsub_topic.dead_letter.name}"), filter);
    String monitoring = Files.readString(Repo.root().resolve("terraform/monitoring.tf"));
    for (String deprecated : DEPRECATED_PUBSUB) {
      assertTrue(!monitoring.contains("pubsub.googleapis.com/" + deprecated), "deprecated metric " + deprecated);
    }
  }

  @Test
  void promQlAlertsCanBeCreatedBeforeTheirMetricsExist() {
    // Cloud Monitoring refuses a PromQL policy on metrics it has not seen, unless the condition says
    // disable_metric_validation; a new project has none of the relay's metrics yet.
    TerraformConfig tf = TerraformConfig.load();
    int promql = 0;
    for (Block p : tf.resources("google_monitoring_alert_policy")) {
      for (com.fasterxml.jackson.databind.JsonNode condition : p.body().path("conditions")) {
        for (com.fasterxml.jackson.databind.JsonNode q : condition.path("condition_prometheus_query_language")) {
          promql++;
          assertEquals("true", q.path("disable_metric_validation").asText(),
              p.address() + ": condition_prometheus_query_language needs disable_metric_validation = true");
        }
      }
    }
    assertTrue(promql >= 1, "PromQL conditions found: " + promql);
  }

  @Test
  void everyQueriedMetricIsOneTheRelayExports() throws IOException {
    Set<String> exported = new TreeSet<>();
    Matcher m = INSTRUMENT.matcher(Files.readString(
        Repo.root().resolve("relay-core/src/main/java/dev/pushrelay/metrics/RelayMetrics.java")));
    while (m.find()) {
      exported.add(m.group(1).replace('.', '_'));
    }
    assertTrue(exported.size() >= 10, "instrument names found: " + exported);
    List<String> unknown = new ArrayList<>();
    Matcher q = QUERIED.matcher(Files.readString(Repo.root().resolve("terraform/monitoring.tf")));
    int queried = 0;
    while (q.find()) {
      String name = q.group(1);
      if (TERRAFORM_NAMES.contains(name)) {
        continue;
      }
      queried++;
      String base = SUFFIX.matcher(name).replaceFirst("");
      if (!exported.contains(base)) {
        unknown.add(name);
      }
    }
    assertTrue(queried >= 10, "queries found: " + queried);
    assertEquals(List.of(), unknown, "queried but not exported by RelayMetrics: " + unknown);
  }

  /**
   * The operations alerts read metrics Google Cloud writes itself: the retry subscriptions' oldest
   * unacked message, both functions' 5xx, and an uptime check of the node's /healthz.
   */
  @Test
  void theRetryBacklogFunction5xxAndUptimeAlertsReadCloudMetricsOfTheRightResources() throws IOException {
    TerraformConfig tf = TerraformConfig.load();
    String backlog = tf.resource("google_monitoring_alert_policy", "retry_backlog").orElseThrow()
        .text("conditions", "condition_threshold", "filter");
    assertTrue(backlog.contains("pubsub.googleapis.com/subscription/oldest_unacked_message_age"), backlog);
    assertTrue(backlog.contains("${google_pubsub_subscription.router.name}")
        && backlog.contains("${google_pubsub_subscription.router_high.name}"), "both retry subscriptions: " + backlog);
    Block fivexx = tf.resource("google_monitoring_alert_policy", "function_5xx").orElseThrow();
    String filter = fivexx.text("conditions", "condition_threshold", "filter");
    assertTrue(filter.contains("run.googleapis.com/request_count") && filter.contains("response_code_class = \"5xx\""),
        filter);
    String operations = Files.readString(Repo.root().resolve("terraform/operations.tf"));
    assertTrue(operations.contains("google_cloudfunctions2_function.send.name")
        && operations.contains("google_cloudfunctions2_function.route.name"), "both functions");
    Block check = tf.resource("google_monitoring_uptime_check_config", "socket_node").orElseThrow();
    assertEquals("/healthz", check.text("http_check", "path"));
    String uptime = tf.resource("google_monitoring_alert_policy", "socket_node_uptime").orElseThrow()
        .text("conditions", "condition_threshold", "filter");
    assertTrue(uptime.contains("monitoring.googleapis.com/uptime_check/check_passed")
        && uptime.contains("google_monitoring_uptime_check_config.socket_node[0].uptime_check_id"), uptime);
  }
}
