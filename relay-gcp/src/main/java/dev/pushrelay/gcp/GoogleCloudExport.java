package dev.pushrelay.gcp;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.InstantiatingGrpcChannelProvider;
import com.google.cloud.monitoring.v3.MetricServiceSettings;
import com.google.cloud.opentelemetry.metric.GoogleCloudMetricExporter;
import com.google.cloud.opentelemetry.metric.MetricConfiguration;
import com.google.cloud.opentelemetry.trace.TraceConfiguration;
import com.google.cloud.opentelemetry.trace.TraceExporter;
import com.google.cloud.trace.v2.stub.GrpcTraceServiceStub;
import com.google.cloud.trace.v2.stub.TraceServiceStubSettings;
import dev.pushrelay.metrics.Telemetry;
import io.grpc.ManagedChannelBuilder;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Metrics to Cloud Monitoring and spans to Cloud Trace, straight from the process with Google's
 * OpenTelemetry exporters: nothing else to deploy. On when {@code RELAY_CLOUD_TELEMETRY=true} (Terraform
 * sets it), for the project in {@code GOOGLE_CLOUD_PROJECT}, with the process's own credentials.
 *
 * <p>Each instrument becomes the metric type {@code workload.googleapis.com/<instrument name>} on the
 * {@code generic_task} resource (job: the service name, task id: the instance), its attributes and the
 * resource's {@code service.name}, {@code service.instance.id} and {@code service.version} as labels with
 * dots turned to underscores; the alert policies in terraform/monitoring.tf query exactly those.
 *
 * <p>{@code RELAY_CLOUD_TELEMETRY_EMULATOR_HOST} points both at a fake of the two APIs on
 * {@code host:port}, in plaintext and without credentials, as the emulator variables do for Pub/Sub and
 * Firestore: the test stack's fake Monitoring server reads what the processes write.
 */
public record GoogleCloudExport(String projectId, Optional<String> emulatorHost, CallLedger ledger)
    implements Telemetry.CloudExport {
  static final String VARIABLE = "RELAY_CLOUD_TELEMETRY";
  static final String EMULATOR_VARIABLE = "RELAY_CLOUD_TELEMETRY_EMULATOR_HOST";
  /** The prefix of every metric type the relay writes; PromQL reads it as {@code workload_googleapis_com:}. */
  static final String PREFIX = "workload.googleapis.com";

  /** The telemetry of a process as the environment configures it, the export to Google Cloud included. */
  public static Telemetry telemetry(String serviceName, String instanceId, Map<String, String> environment) {
    return Telemetry.fromEnvironment(serviceName, instanceId, environment, fromEnvironment(serviceName, environment));
  }

  /** The export the environment asks for, if any; a missing project is a configuration error. */
  public static Optional<Telemetry.CloudExport> fromEnvironment(String serviceName, Map<String, String> environment) {
    String on = environment.getOrDefault(VARIABLE, "false");
    if (!on.equals("true") && !on.equals("false")) {
      throw new IllegalStateException(VARIABLE + " is true or false, not '" + on + "'");
    }
    if (on.equals("false")) {
      return Optional.empty();
    }
    String project = environment.getOrDefault("GOOGLE_CLOUD_PROJECT", environment.getOrDefault("GCP_PROJECT", ""));
    if (project.isBlank()) {
      throw new IllegalStateException(VARIABLE + " is on but GOOGLE_CLOUD_PROJECT is not set");
    }
    Optional<String> emulator = Optional.ofNullable(environment.get(EMULATOR_VARIABLE)).filter(s -> !s.isBlank());
    return Optional.of(new GoogleCloudExport(project, emulator, CallLedger.fromEnvironment(serviceName, environment)));
  }

  @SuppressWarnings("deprecation") // the exporters are in maintenance upstream; DEPLOY.md says what replaces them
  @Override
  public MetricExporter metrics() {
    MetricConfiguration.Builder config = MetricConfiguration.builder()
        .setProjectId(projectId)
        .setPrefix(PREFIX)
        .setInstrumentationLibraryLabelsEnabled(false)
        .setResourceAttributesFilter(key -> MetricConfiguration.DEFAULT_RESOURCE_ATTRIBUTES_FILTER.test(key)
            || key.getKey().equals("service.version"));
    emulatorHost.ifPresent(host -> config.setMetricServiceSettings(monitoringEmulator(host)));
    return GoogleCloudMetricExporter.createWithConfiguration(config.build());
  }

  @SuppressWarnings("deprecation")
  @Override
  public SpanExporter spans() {
    TraceConfiguration.Builder config = TraceConfiguration.builder().setProjectId(projectId);
    emulatorHost.ifPresent(host -> config.setTraceServiceStub(traceEmulator(host)));
    return TraceExporter.createWithConfiguration(config.build());
  }

  private InstantiatingGrpcChannelProvider plaintext(String host) {
    return InstantiatingGrpcChannelProvider.newBuilder()
        .setEndpoint(host)
        .setChannelConfigurator(ManagedChannelBuilder::usePlaintext)
        .setInterceptorProvider(() -> List.of(ledger))
        .build();
  }

  private MetricServiceSettings monitoringEmulator(String host) {
    try {
      return MetricServiceSettings.newBuilder()
          .setCredentialsProvider(NoCredentialsProvider.create())
          .setTransportChannelProvider(plaintext(host))
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach the Monitoring fake at " + host, e);
    }
  }

  private GrpcTraceServiceStub traceEmulator(String host) {
    try {
      return GrpcTraceServiceStub.create(TraceServiceStubSettings.newBuilder()
          .setCredentialsProvider(NoCredentialsProvider.create())
          .setTransportChannelProvider(plaintext(host))
          .build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reach the Trace fake at " + host, e);
    }
  }
}
