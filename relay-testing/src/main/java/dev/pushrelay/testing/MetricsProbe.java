package dev.pushrelay.testing;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.PointData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A {@link Telemetry} whose metrics and spans are also kept in memory, for tests that check an
 * instrument moved or a span was made. Metric values are cumulative, summed over every series whose
 * attributes include the given ones.
 */
public final class MetricsProbe implements AutoCloseable {
  private final InMemoryMetricReader reader = InMemoryMetricReader.create();
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final Telemetry telemetry;

  public MetricsProbe() {
    this("test");
  }

  public MetricsProbe(String serviceName) {
    telemetry = Telemetry.local(serviceName, List.of(reader), List.of(SimpleSpanProcessor.create(spans)));
  }

  public Telemetry telemetry() {
    return telemetry;
  }

  public Meter meter() {
    return telemetry.meter();
  }

  public RelayMetrics relayMetrics(Part part) {
    return new RelayMetrics(meter(), part);
  }

  /** Every span ended so far. */
  public List<SpanData> spans() {
    return spans.getFinishedSpanItems();
  }

  /** Attributes from alternating key, value strings. */
  public static Attributes attributes(String... keyValues) {
    var b = Attributes.builder();
    for (int i = 0; i < keyValues.length; i += 2) {
      b.put(AttributeKey.stringKey(keyValues[i]), keyValues[i + 1]);
    }
    return b.build();
  }

  /** A counter's or gauge's value summed over the matching series; 0 when it never moved. */
  public long value(String name, String... keyValues) {
    Attributes wanted = attributes(keyValues);
    return points(name).filter(p -> matches(p, wanted)).filter(p -> p instanceof LongPointData)
        .mapToLong(p -> ((LongPointData) p).getValue()).sum();
  }

  /** How many values a histogram recorded over the matching series. */
  public long count(String name, String... keyValues) {
    return histogram(name, keyValues).stream().mapToLong(HistogramPointData::getCount).sum();
  }

  /** Sum of the values a histogram recorded over the matching series. */
  public double sum(String name, String... keyValues) {
    return histogram(name, keyValues).stream().mapToDouble(HistogramPointData::getSum).sum();
  }

  public List<HistogramPointData> histogram(String name, String... keyValues) {
    Attributes wanted = attributes(keyValues);
    return points(name).filter(p -> matches(p, wanted)).filter(p -> p instanceof HistogramPointData)
        .map(p -> (HistogramPointData) p).toList();
  }

  private Stream<? extends PointData> points(String name) {
    Collection<MetricData> all = reader.collectAllMetrics();
    return all.stream().filter(m -> m.getName().equals(name)).flatMap(m -> m.getData().getPoints().stream());
  }

  private static boolean matches(PointData p, Attributes wanted) {
    Map<AttributeKey<?>, Object> have = p.getAttributes().asMap();
    return wanted.asMap().entrySet().stream().allMatch(e -> e.getValue().equals(have.get(e.getKey())));
  }

  @Override
  public void close() {
    telemetry.close();
  }
}
