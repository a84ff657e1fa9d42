package dev.pushrelay.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class CountingPublisherTest {
  @Test
  void countsPublishesByPartTopicAndOutcome() {
    InMemoryMetricReader reader = InMemoryMetricReader.create();
    try (SdkMeterProvider provider = SdkMeterProvider.builder().registerMetricReader(reader).build()) {
      MessagePublisher flaky = (topic, m) -> m.data().equals("fail")
          ? CompletableFuture.failedFuture(new IllegalStateException("unavailable"))
          : CompletableFuture.completedFuture("id");
      CountingPublisher publisher = new CountingPublisher(flaky,
          new RelayMetrics(provider.get(Telemetry.SCOPE), Part.ROUTE_FUNCTION));
      publisher.publish("relay-deliveries", new OutboundMessage("ok", Map.of()));
      publisher.publish("relay-deliveries", new OutboundMessage("ok", Map.of()));
      publisher.publish("relay-dead-letter", new OutboundMessage("fail", Map.of()));

      assertEquals(2, value(reader, "relay-deliveries", "ok"));
      assertEquals(0, value(reader, "relay-deliveries", "failed"));
      assertEquals(1, value(reader, "relay-dead-letter", "failed"));
    }
  }

  private static long value(InMemoryMetricReader reader, String topic, String outcome) {
    Attributes wanted = Attributes.of(RelayMetrics.PART, "route_function", RelayMetrics.TOPIC, topic,
        RelayMetrics.OUTCOME, outcome);
    return reader.collectAllMetrics().stream()
        .filter(m -> m.getName().equals(RelayMetrics.PUBSUB_PUBLISHES))
        .flatMap(m -> m.getLongSumData().getPoints().stream())
        .filter(p -> p.getAttributes().equals(wanted))
        .mapToLong(LongPointData::getValue)
        .sum();
  }
}
