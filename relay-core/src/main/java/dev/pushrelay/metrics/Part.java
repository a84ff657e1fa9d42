package dev.pushrelay.metrics;

import java.util.Locale;

/** The deployable part that counts: the {@code part} attribute of the cost counters. */
public enum Part {
  SEND_FUNCTION,
  ROUTE_FUNCTION,
  SOCKET_NODE;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
