package dev.pushrelay.mailbox;

/** What parking a message in the mailbox amounted to. */
public enum ParkOutcome {
  /** Parked for a socket to drain, and Pub/Sub retries it meanwhile. */
  PARKED,
  /** The last attempt: the entry is gone and the caller dead-letters the message. */
  FINAL,
  /** A socket's catch-up has already written it: nothing more to do. */
  ALREADY_DELIVERED
}
