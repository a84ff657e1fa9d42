package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.testing.FakeCloudTelemetry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * RELAY_CLOUD_TELEMETRY=true writes the relay's figures to Cloud Monitoring and its spans to Cloud Trace
 * with Google's exporters, here against a fake of both APIs at the wire. The end-to-end suite does the same
 * with every deployable, and infra-tests compares what they wrote with the alert policies' queries.
 */
class CloudTelemetryExportTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aCounterBecomesAWorkloadMetricOnTheProcessesGenericTaskWithItsAttributesAsLabels() throws Exception {
    Map<String, String> environment = Map.of("GOOGLE_CLOUD_PROJECT", "relay-test", "K_REVISION", "route-00007-abc",
        "RELAY_CLOUD_TELEMETRY", "true");
    try (FakeCloudTelemetry cloud = FakeCloudTelemetry.start()) {
      Map<String, String> env = new HashMap<>(environment);
      env.put("RELAY_CLOUD_TELEMETRY_EMULATOR_HOST", cloud.host());
      try (Telemetry telemetry = GoogleCloudExport.telemetry("route-function", "instance-1", env)) {
        RelayMetrics metrics = new RelayMetrics(telemetry.meter(), Part.ROUTE_FUNCTION);
        metrics.deadLetter(DeadLetterReason.NO_CONNECTION_AFTER_RETRIES);
        metrics.routeAttempts(3);
        telemetry.tracer().spanBuilder("relay.route").startSpan().end();
      } // closing flushes both exporters

      List<JsonNode> series = cloud.series().stream().map(CloudTelemetryExportTest::read).toList();
      JsonNode deadLetter = only(series, "workload.googleapis.com/relay.dead_letter");
      assertEquals("CUMULATIVE", deadLetter.get("kind").asText());
      assertEquals("no_connection_after_retries", deadLetter.at("/labels/reason").asText());
      assertEquals("route-function", deadLetter.at("/labels/service_name").asText());
      assertEquals("route-00007-abc", deadLetter.at("/labels/service_version").asText());
      assertEquals("generic_task", deadLetter.get("resource").asText());
      assertEquals("route-function", deadLetter.at("/resourceLabels/job").asText());
      assertEquals("DISTRIBUTION_VALUE", only(series, "workload.googleapis.com/relay.route.attempts")
          .get("value").asText());
      assertEquals(1, cloud.spans());
    }
  }

  @Test
  void aValueOtherThanTrueOrFalseIsRefused() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> GoogleCloudExport.telemetry(
        "send-function", "instance-1", Map.of("RELAY_CLOUD_TELEMETRY", "yes", "GOOGLE_CLOUD_PROJECT", "p")));
    assertTrue(e.getMessage().contains("RELAY_CLOUD_TELEMETRY"), e.getMessage());
  }

  private static JsonNode only(List<JsonNode> series, String type) {
    List<JsonNode> found = series.stream().filter(s -> s.get("type").asText().equals(type)).toList();
    assertTrue(found.size() == 1, type + " written once, got " + series);
    return found.get(0);
  }

  private static JsonNode read(String line) {
    try {
      return JSON.readTree(line);
    } catch (Exception e) {
      throw new IllegalStateException(line, e);
    }
  }
}
