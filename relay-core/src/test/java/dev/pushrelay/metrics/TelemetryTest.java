package dev.pushrelay.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.model.DeadLetterReason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TelemetryTest {
  @Test
  void scrapeShowsTheInstrumentsInPrometheusTextFormat() {
    try (Telemetry telemetry = Telemetry.local("test-part")) {
      RelayMetrics metrics = new RelayMetrics(telemetry.meter(), Part.SOCKET_NODE);
      metrics.connectionAttempt(ConnectionOutcome.AUTH_FAILED);
      metrics.connectionAttempt(ConnectionOutcome.ACCEPTED);
      metrics.connectionAttempt(ConnectionOutcome.ACCEPTED);
      metrics.connectionTime(Duration.ofMillis(40));
      metrics.deadLetter(DeadLetterReason.NO_CONNECTION_AFTER_RETRIES);
      metrics.firestoreWrites(3);
      metrics.observeActiveConnections(() -> 7);
      metrics.routeAttempts(3);
      metrics.deliveryLatency(Duration.ofSeconds(2), RelayMetrics.PATH_MAILBOX);

      String text = new String(telemetry.scrape(), StandardCharsets.UTF_8);
      assertTrue(text.contains("websocket_connection_attempts_total{outcome=\"accepted\"} 2"), text);
      assertTrue(text.contains("websocket_connection_attempts_total{outcome=\"auth_failed\"} 1"), text);
      assertTrue(text.contains("websocket_connection_time_seconds_bucket{le=\"0.05\"} 1"), text);
      assertTrue(text.contains("websocket_connection_time_seconds_bucket{le=\"0.025\"} 0"), text);
      assertTrue(text.contains("relay_dead_letter_total{reason=\"no_connection_after_retries\"} 1"), text);
      assertTrue(text.contains("relay_firestore_writes_total{part=\"socket_node\"} 3"), text);
      assertTrue(text.contains("websocket_connections_active 7"), text);
      // the names the alert policies and dashboard in terraform/monitoring.tf query
      assertTrue(text.contains("relay_route_attempts_bucket{le=\"3.0\"} 1"), text);
      assertTrue(text.contains("relay_route_attempts_bucket{le=\"2.0\"} 0"), text);
      assertTrue(text.contains("relay_delivery_latency_seconds_bucket{path=\"mailbox\",le=\"2.5\"} 1"), text);
      assertTrue(telemetry.contentType().startsWith("text/plain"), telemetry.contentType());
    }
  }

  @Test
  void exportsOverOtlpOnlyWhenAnEndpointIsConfigured() {
    Map<String, String> none = Telemetry.defaults("socket-node", Map.of(), false);
    assertEquals("none", none.get("otel.metrics.exporter"));
    assertEquals("none", none.get("otel.traces.exporter"));
    assertEquals("socket-node", none.get("otel.service.name"));

    Map<String, String> both = Telemetry.defaults("socket-node",
        Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), false);
    assertEquals("otlp", both.get("otel.metrics.exporter"));
    assertEquals("otlp", both.get("otel.traces.exporter"));

    Map<String, String> traces = Telemetry.defaults("route-function",
        Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"), false);
    assertEquals("none", traces.get("otel.metrics.exporter"));
    assertEquals("otlp", traces.get("otel.traces.exporter"));
    assertEquals("none", traces.get("otel.logs.exporter"));
  }

  @Test
  void theGoogleCloudResourceDetectorAsksTheMetadataServerOnlyWhenTheCloudExportIsOn() {
    String providers = "otel.java.disabled.resource.providers";
    assertEquals("io.opentelemetry.contrib.gcp.resource.GCPResourceProvider",
        Telemetry.defaults("socket-node", Map.of(), false).get(providers));
    assertEquals(null, Telemetry.defaults("socket-node", Map.of(), true).get(providers));
  }

  @Test
  void theEnvironmentConfiguredSdkServesMetricsToo() {
    try (Telemetry telemetry = Telemetry.fromEnvironment("send-function", "instance-1", Map.of(), Optional.empty())) {
      new RelayMetrics(telemetry.meter(), Part.SEND_FUNCTION).accepted(4);
      String text = new String(telemetry.scrape(), StandardCharsets.UTF_8);
      assertTrue(text.contains("relay_messages_accepted_total 4"), text);
    }
  }

  /** Cloud Run's revision is each series' service.version, so a canary is judged on its own figures. */
  @Test
  void theCloudRunRevisionIsTheServiceVersion() {
    try (Telemetry telemetry = Telemetry.fromEnvironment("socket-node", "node-1",
        Map.of("K_REVISION", "relay-00042-abc"), Optional.empty())) {
      new RelayMetrics(telemetry.meter(), Part.SOCKET_NODE).accepted(1);
      String text = new String(telemetry.scrape(), StandardCharsets.UTF_8);
      assertTrue(text.contains("service_version=\"relay-00042-abc\""), text);
    }
  }
}
