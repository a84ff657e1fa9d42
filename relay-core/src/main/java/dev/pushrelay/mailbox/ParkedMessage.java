package dev.pushrelay.mailbox;

import dev.pushrelay.model.RelayMessage;

/**
 * A message taken from the mailbox for one socket, under the trace context it was parked with (its
 * {@link RelayMessage#trace}), so that its socket write joins the message's trace.
 *
 * @param claimed true when this socket claimed it (and reports it delivered or releases it); false for a
 *     copy of a message another socket of the user claimed moments ago, which this socket writes too
 */
public record ParkedMessage(RelayMessage message, boolean claimed) {}
