package dev.pushrelay.model;

/** Why a message ended in the dead-letter topic; the wire value is the {@code reason} attribute. */
public enum DeadLetterReason {
  NO_CONNECTION_AFTER_RETRIES,
  INVALID,
  EXPIRED,
  /** The user's sockets took it from the mailbox {@code Mailbox.MAX_CLAIMS} times and never acked it. */
  HANDED_BACK;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
