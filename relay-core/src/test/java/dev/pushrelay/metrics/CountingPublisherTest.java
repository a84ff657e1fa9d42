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

  /** A list goes to the real publisher whole, which batches it, and each of its messages is counted. */
  @Test
  void aListReachesTheRealPublisherWholeAndEachMessageIsCounted() {
    InMemoryMetricReader reader = InMemoryMetricReader.create();
    try (SdkMeterProvider provider = SdkMeterProvider.builder().registerMetricReader(reader).build()) {
      java.util.List<Integer> calls = new java.util.ArrayList<>();
      MessagePublisher batching = new MessagePublisher() {
        @Override
        public CompletableFuture<String> publish(String topic, OutboundMessage m) {
          calls.add(1);
          return CompletableFuture.completedFuture("id");
        }

        @Override
        public CompletableFuture<java.util.List<String>> publishAll(String topic,
            java.util.List<OutboundMessage> ms) {
          calls.add(ms.size());
          return CompletableFuture.completedFuture(ms.stream().map(m -> "id").toList());
        }
      };
      CountingPublisher publisher = new CountingPublisher(batching,
          new RelayMetrics(provider.get(Telemetry.SCOPE), Part.SOCKET_NODE));
      publisher.publishAll("relay-deliveries", java.util.List.of(new OutboundMessage("a", Map.of()),
          new OutboundMessage("b", Map.of()), new OutboundMessage("c", Map.of()))).join();

      assertEquals(java.util.List.of(3), calls, "one call with all three");
      assertEquals(3, value(reader, "relay-deliveries", "ok", "socket_node"));
    }
  }

  private static long value(InMemoryMetricReader reader, String topic, String outcome) {
    return value(reader, topic, outcome, "route_function");
  }

  private static long value(InMemoryMetricReader reader, String topic, String outcome, String part) {
    Attributes wanted = Attributes.of(RelayMetrics.PART, part, RelayMetrics.TOPIC, topic,
        RelayMetrics.OUTCOME, outcome);
    return reader.collectAllMetrics().stream()
        .filter(m -> m.getName().equals(RelayMetrics.PUBSUB_PUBLISHES))
        .flatMap(m -> m.getLongSumData().getPoints().stream())
        .filter(p -> p.getAttributes().equals(wanted))
        .mapToLong(LongPointData::getValue)
        .sum();
  }
}
