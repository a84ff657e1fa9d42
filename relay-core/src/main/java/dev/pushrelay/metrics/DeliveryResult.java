package dev.pushrelay.metrics;

import java.util.Locale;

/** What became of one message on a socket node: the {@code outcome} of {@code websocket.message.delivery}. */
public enum DeliveryResult {
  /** Written to at least one socket of the user. */
  DELIVERED,
  /** The user's socket was gone: sent back to be routed again. */
  REROUTED,
  /** Neither written nor re-routed; Pub/Sub delivers it again. */
  FAILED,
  /** Every socket of the user had it already. */
  DUPLICATE_SUPPRESSED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
