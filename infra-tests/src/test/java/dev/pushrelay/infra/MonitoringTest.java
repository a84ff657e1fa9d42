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
    assertTrue(monitoring.contains("websocket_connection_time_seconds_bucket"));
    assertTrue(monitoring.contains("relay_route_attempts_bucket"));
    assertEquals(1, tf.resources("google_monitoring_dashboard").size(), "one dashboard");
    for (Block p : policies) {
      String channels = p.text("notification_channels");
      assertEquals("${local.alert_channels}", channels, p.address() + " notifies the configured channels");
    }
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
}
