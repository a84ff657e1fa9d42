package dev.pushrelay.mailbox;

import dev.pushrelay.model.RelayMessage;
import java.util.Map;

/**
 * A message claimed from the mailbox, with the trace context it was parked under ({@code traceparent},
 * {@code tracestate}; empty when it had none), so that its socket write joins the message's trace.
 */
public record ParkedMessage(RelayMessage message, Map<String, String> trace) {
  public ParkedMessage {
    trace = Map.copyOf(trace);
  }
}
