package dev.pushrelay.metrics;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.common.InternalTelemetryVersion;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.SdkMeterProviderBuilder;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.MetricReader;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The OpenTelemetry SDK of one process: metrics and traces, configured from the standard
 * {@code OTEL_*} variables (SDK autoconfigure), exported over OTLP when an OTLP endpoint is set, and
 * always readable in Prometheus text format for {@code GET /metrics}. Built once per process by the
 * composition root and closed at exit, which flushes what is not exported yet.
 */
public final class Telemetry implements AutoCloseable {
  /** Instrumentation scope of every instrument and span the relay makes. */
  public static final String SCOPE = "dev.pushrelay";
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  private static final AttributeKey<String> SERVICE_INSTANCE_ID = AttributeKey.stringKey("service.instance.id");
  private static final AttributeKey<String> SERVICE_VERSION = AttributeKey.stringKey("service.version");
  private static final String GCP_RESOURCE_DETECTOR = "io.opentelemetry.contrib.gcp.resource.GCPResourceProvider";
  private static final PrometheusTextFormatWriter TEXT = PrometheusTextFormatWriter.create();

  private final OpenTelemetrySdk sdk;
  private final PrometheusMetricReader prometheus;
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Where metrics and spans go beside OTLP: Google Cloud's Monitoring and Trace, in relay-gcp. */
  public interface CloudExport {
    MetricExporter metrics();

    SpanExporter spans();
  }

  private Telemetry(OpenTelemetrySdk sdk, PrometheusMetricReader prometheus) {
    this.sdk = sdk;
    this.prometheus = prometheus;
  }

  /**
   * The SDK as the environment configures it. {@code cloud} (relay-gcp's {@code GoogleCloudExport}, when
   * {@code RELAY_CLOUD_TELEMETRY=true}) exports metrics to Cloud Monitoring and spans to Cloud Trace; an OTLP endpoint
   * ({@code OTEL_EXPORTER_OTLP_ENDPOINT} or its per-signal variants) exports over OTLP, beside it or
   * alone. With neither, only {@code /metrics} shows the figures; any {@code OTEL_*} variable still
   * overrides these defaults.
   *
   * @param serviceName the default {@code service.name}: socket-node, send-function, route-function
   * @param instanceId the default {@code service.instance.id}, so series of many instances stay apart
   *     <p>On Cloud Run, {@code K_REVISION} becomes the default {@code service.version}: a canary's
   *     service levels are read per revision (docs/DEPLOY.md).
   */
  public static Telemetry fromEnvironment(String serviceName, String instanceId, Map<String, String> environment,
      Optional<CloudExport> cloud) {
    PrometheusMetricReader reader = prometheusReader();
    Map<String, String> defaults = defaults(serviceName, environment, cloud.isPresent());
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(() -> defaults)
        .addMeterProviderCustomizer((builder, config) -> builder.registerMetricReader(reader))
        .addMeterProviderCustomizer((builder, config) -> cloud.map(c -> builder.registerMetricReader(
            PeriodicMetricReader.builder(c.metrics())
                .setInterval(config.getDuration("otel.metric.export.interval", Duration.ofMinutes(1)))
                // the SDK's figures about its own collection are not the relay's: not written, not billed
                .setInternalTelemetryVersion(InternalTelemetryVersion.LEGACY)
                .build())).orElse(builder))
        .addTracerProviderCustomizer((builder, config) -> cloud.map(c -> builder.addSpanProcessor(
            BatchSpanProcessor.builder(c.spans())
                // the standard OTEL_BSP_* settings, as for the processor autoconfigure builds for OTLP
                .setScheduleDelay(config.getDuration("otel.bsp.schedule.delay", Duration.ofSeconds(5)))
                .setMaxQueueSize(config.getInt("otel.bsp.max.queue.size", 2048))
                .setMaxExportBatchSize(config.getInt("otel.bsp.max.export.batch.size", 512))
                .setExporterTimeout(config.getDuration("otel.bsp.export.timeout", Duration.ofSeconds(30)))
                .build())).orElse(builder))
        .addResourceCustomizer((resource, config) -> resource.getAttribute(SERVICE_INSTANCE_ID) != null
            ? resource : resource.merge(Resource.create(Attributes.of(SERVICE_INSTANCE_ID, instanceId))))
        .addResourceCustomizer((resource, config) -> resource.getAttribute(SERVICE_VERSION) != null
            || environment.getOrDefault("K_REVISION", "").isEmpty() ? resource
            : resource.merge(Resource.create(Attributes.of(SERVICE_VERSION, environment.get("K_REVISION")))))
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
    return new Telemetry(sdk, reader);
  }

  /** Metrics for {@code /metrics} only, no exporter, no environment: tests and embedded use. */
  public static Telemetry local(String serviceName) {
    return local(serviceName, List.of(), List.of());
  }

  /**
   * Like {@link #local(String)}, with more readers and span processors: tests pass an in-memory
   * metric reader and span exporter here.
   */
  public static Telemetry local(String serviceName, List<MetricReader> readers, List<SpanProcessor> spans) {
    PrometheusMetricReader reader = prometheusReader();
    Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, serviceName,
        SERVICE_INSTANCE_ID, UUID.randomUUID().toString())));
    SdkMeterProviderBuilder meters = SdkMeterProvider.builder().setResource(resource).registerMetricReader(reader);
    readers.forEach(meters::registerMetricReader);
    SdkTracerProviderBuilder tracers = SdkTracerProvider.builder().setResource(resource);
    spans.forEach(tracers::addSpanProcessor);
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
        .setMeterProvider(meters.build())
        .setTracerProvider(tracers.build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    return new Telemetry(sdk, reader);
  }

  /**
   * The defaults; {@code cloud}: the export to Google Cloud is on. Off, the Google Cloud resource detector
   * is too: it asks the metadata server, which only the cloud answers.
   */
  static Map<String, String> defaults(String serviceName, Map<String, String> environment, boolean cloud) {
    boolean metricsEndpoint = present(environment, "OTEL_EXPORTER_OTLP_ENDPOINT")
        || present(environment, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    boolean tracesEndpoint = present(environment, "OTEL_EXPORTER_OTLP_ENDPOINT")
        || present(environment, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    Map<String, String> d = new HashMap<>();
    d.put("otel.service.name", serviceName);
    d.put("otel.metrics.exporter", metricsEndpoint ? "otlp" : "none");
    d.put("otel.traces.exporter", tracesEndpoint ? "otlp" : "none");
    // Logs are JSON lines on stdout, which Cloud Logging reads: no OTLP log export.
    d.put("otel.logs.exporter", "none");
    if (!cloud) {
      d.put("otel.java.disabled.resource.providers", GCP_RESOURCE_DETECTOR);
    }
    return d;
  }

  private static boolean present(Map<String, String> environment, String name) {
    String v = environment.get(name);
    return v != null && !v.isBlank();
  }

  private static PrometheusMetricReader prometheusReader() {
    return PrometheusMetricReader.builder().setOtelScopeLabelsEnabled(false).build();
  }

  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  public Meter meter() {
    return sdk.getMeter(SCOPE);
  }

  public Tracer tracer() {
    return sdk.getTracer(SCOPE);
  }

  /** The content type of {@link #scrape()}. */
  public String contentType() {
    return TEXT.getContentType();
  }

  /** Every instrument's current value in Prometheus text format, as {@code GET /metrics} answers. */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try {
      TEXT.write(out, prometheus.collect(), EscapingScheme.UNDERSCORE_ESCAPING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Flushes and stops the exporters; safe to call more than once. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      sdk.shutdown().join(3, TimeUnit.SECONDS);
    }
  }
}
