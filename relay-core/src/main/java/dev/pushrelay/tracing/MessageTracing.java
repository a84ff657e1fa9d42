package dev.pushrelay.tracing;

import dev.pushrelay.logging.CloudLoggingLayout;
import dev.pushrelay.metrics.Telemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.MDC;

/**
 * One trace per message: the send function starts it (continuing the caller's {@code traceparent}
 * when there is one), and every hop carries W3C trace context in the Pub/Sub attributes
 * {@code traceparent} and {@code tracestate}: requests, deliveries, re-routes, dead letters and
 * replays. Each part adds its span (send, route attempt, socket write) to the same trace, and its log
 * lines about the message carry the trace id.
 */
public final class MessageTracing {
  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";
  public static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
  public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("relay.outcome");
  /** How a socket write got its message: {@code live} (routed) or {@code mailbox} (drained on connect). */
  public static final AttributeKey<String> PATH = AttributeKey.stringKey("relay.path");
  private static final Pattern TRACEPARENT_FORMAT = Pattern.compile("[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}");
  private static final TextMapPropagator W3C = W3CTraceContextPropagator.getInstance();
  private static final TextMapGetter<Map<String, String>> MAP_GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private final Tracer tracer;

  public MessageTracing(Telemetry telemetry) {
    this(telemetry.openTelemetry());
  }

  public MessageTracing(OpenTelemetry openTelemetry) {
    this.tracer = openTelemetry.getTracer(Telemetry.SCOPE);
  }

  /** Spans that record nothing and propagate nothing new. */
  public static MessageTracing noop() {
    return new MessageTracing(OpenTelemetry.noop());
  }

  /**
   * Starts a span for one message, child of the context in {@code carrier} (Pub/Sub attributes or
   * HTTP headers with lower-case names); a root span when the carrier holds none.
   */
  public Span start(String name, SpanKind kind, Map<String, String> carrier, String messageId) {
    Context parent = W3C.extract(Context.root(), carrier, MAP_GETTER);
    return tracer.spanBuilder(name).setParent(parent).setSpanKind(kind).setAttribute(MESSAGE_ID, messageId)
        .startSpan();
  }

  /** The span's context as Pub/Sub attributes, for the next hop; empty for a span that is not recorded. */
  public static Map<String, String> attributes(Span span) {
    Map<String, String> out = new HashMap<>();
    if (span.getSpanContext().isValid()) {
      W3C.inject(Context.root().with(span), out, (carrier, key, value) -> carrier.put(key, value));
    }
    return out;
  }

  /** The trace context entries of a carrier, to pass on unchanged. */
  public static Map<String, String> carried(Map<String, String> carrier) {
    Map<String, String> out = new HashMap<>();
    for (String key : new String[] {TRACEPARENT, TRACESTATE}) {
      String v = carrier.get(key);
      if (v != null) {
        out.put(key, v);
      }
    }
    return out;
  }

  /** The trace id a carrier's {@code traceparent} names. */
  public static Optional<String> traceId(Map<String, String> carrier) {
    String tp = carrier.get(TRACEPARENT);
    if (tp == null) {
      return Optional.empty();
    }
    var m = TRACEPARENT_FORMAT.matcher(tp.trim().toLowerCase(Locale.ROOT));
    return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** Puts the trace id in the logging context until closed: log lines in between link to the trace. */
  public static MDC.MDCCloseable logContext(Map<String, String> carrier) {
    return MDC.putCloseable(CloudLoggingLayout.TRACE_ID, traceId(carrier).orElse(null));
  }

  /** Same, for a span. */
  public static MDC.MDCCloseable logContext(Span span) {
    return MDC.putCloseable(CloudLoggingLayout.TRACE_ID,
        span.getSpanContext().isValid() ? span.getSpanContext().getTraceId() : null);
  }
}
