package dev.pushrelay.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.metrics.Telemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MessageTracingTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

  @Test
  void aSpanContinuesTheTraceInItsCarrierAndHandsItOnAsAttributes() {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (Telemetry telemetry = Telemetry.local("t", List.of(), List.of(SimpleSpanProcessor.create(spans)))) {
      MessageTracing tracing = new MessageTracing(telemetry);
      Span span = tracing.start("relay.route", SpanKind.CONSUMER,
          Map.of("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-01", "message_id", "m1"), "m1");
      Map<String, String> next = MessageTracing.attributes(span);
      span.end();
      assertEquals(Optional.of(TRACE), MessageTracing.traceId(next));
      assertTrue(next.get("traceparent").contains(span.getSpanContext().getSpanId()));
      SpanData data = spans.getFinishedSpanItems().get(0);
      assertEquals("00f067aa0ba902b7", data.getParentSpanId());
      assertEquals("m1", data.getAttributes().get(MessageTracing.MESSAGE_ID));

      Span root = tracing.start("relay.send", SpanKind.PRODUCER, Map.of(), "m2");
      root.end();
      assertNotEquals(TRACE, root.getSpanContext().getTraceId(), "no carrier: a trace of its own");
      assertTrue(root.getSpanContext().isValid());
    }
  }

  @Test
  void readsOnlyWellFormedTraceparentsAndCarriesOnlyTraceEntries() {
    assertEquals(Optional.empty(), MessageTracing.traceId(Map.of("traceparent", "garbage")));
    assertEquals(Optional.empty(), MessageTracing.traceId(Map.of()));
    assertEquals(Map.of("traceparent", "x", "tracestate", "y"),
        MessageTracing.carried(Map.of("traceparent", "x", "tracestate", "y", "user_id", "u1")));
    assertEquals(Map.of(), MessageTracing.attributes(MessageTracing.noop().start("s", SpanKind.INTERNAL, Map.of(), "m")));
  }
}
