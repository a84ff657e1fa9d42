package dev.pushrelay.functions.route;

/** What the router did with one push; {@link #retry()} tells whether Pub/Sub must deliver it again. */
public enum RouteOutcome {
  ROUTED(false),
  FANNED_OUT(false),
  PENDING(true),
  DEAD_LETTERED_INVALID(false),
  DEAD_LETTERED_EXPIRED(false),
  DEAD_LETTERED_NO_CONNECTION(false),
  ALREADY_DELIVERED(false),
  /** A node dead-lettered it from the mailbox already (handed back too often). */
  ALREADY_DEAD_LETTERED(false);

  private final boolean retry;

  RouteOutcome(boolean retry) {
    this.retry = retry;
  }

  public boolean retry() {
    return retry;
  }
}
