package dev.pushrelay.mailbox;

/** What parking a message in the mailbox amounted to. */
public enum ParkOutcome {
  /** Parked now, for a socket to drain, and Pub/Sub retries it meanwhile. */
  PARKED,
  /** An earlier attempt parked it and it still waits: Pub/Sub retries it again. */
  STILL_PARKED,
  /** A socket's catch-up is writing it right now: Pub/Sub retries it, and the retry finds it settled. */
  CLAIMED,
  /** The last attempt: the entry is gone and the caller dead-letters the message. */
  FINAL,
  /** A socket's catch-up has already written it (its tombstone stays until its TTL): nothing more to do. */
  ALREADY_DELIVERED,
  /**
   * A node dead-lettered it (handed back too often; its tombstone stays until its TTL): nothing more to do,
   * and no second dead letter.
   */
  ALREADY_DEAD_LETTERED
}
