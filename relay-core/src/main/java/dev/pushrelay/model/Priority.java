package dev.pushrelay.model;

/** Delivery priority chosen by the sender. */
public enum Priority {
  NORMAL,
  HIGH;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
