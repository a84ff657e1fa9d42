package dev.pushrelay.mailbox;

import dev.pushrelay.model.RelayMessage;
import java.util.Map;

/**
 * A message taken from the mailbox for one socket, with the trace context it was parked under
 * ({@code traceparent}, {@code tracestate}; empty when it had none), so that its socket write joins the
 * message's trace.
 *
 * @param claimed true when this socket claimed it (and reports it delivered or releases it); false for a
 *     copy of a message another socket of the user claimed moments ago, which this socket writes too
 */
public record ParkedMessage(RelayMessage message, Map<String, String> trace, boolean claimed) {
  public ParkedMessage {
    trace = Map.copyOf(trace);
  }
}
