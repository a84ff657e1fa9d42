package dev.pushrelay.node.ws;

/**
 * The inbound rate limit of one socket: a token bucket of {@code burst} frames refilled at
 * {@code perSecond}, and a tally of refused frames that drains ten times slower. A refused frame is
 * dropped (an {@code error} frame {@code rate_limited} says so, at most once a second); once the
 * tally passes {@code burst} the abuse is sustained and the socket is closed with 1008. An ack of a
 * message the socket was really sent gives its token back, so acknowledging a burst of deliveries
 * never counts against a client.
 */
final class InboundRateLimit {
  enum Verdict { ADMIT, REFUSE, REFUSE_AND_WARN, CLOSE }

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final double perNano;
  private final double burst;
  private double tokens;
  private double refused;
  private long last;
  private long lastWarning;
  private boolean warned;

  InboundRateLimit(int perSecond, int burst, long nowNanos) {
    this.perNano = perSecond / (double) NANOS_PER_SECOND;
    this.burst = burst;
    this.tokens = burst;
    this.last = nowNanos;
  }

  synchronized Verdict admit(long nowNanos) {
    long elapsed = Math.max(0, nowNanos - last);
    last = Math.max(last, nowNanos); // a frame counted late with its arrival time never winds the clock back
    tokens = Math.min(burst, tokens + elapsed * perNano);
    refused = Math.max(0, refused - elapsed * perNano / 10);
    if (tokens >= 1) {
      tokens -= 1;
      return Verdict.ADMIT;
    }
    refused += 1;
    if (refused > burst) {
      return Verdict.CLOSE;
    }
    if (!warned || nowNanos - lastWarning >= NANOS_PER_SECOND) {
      warned = true;
      lastWarning = nowNanos;
      return Verdict.REFUSE_AND_WARN;
    }
    return Verdict.REFUSE;
  }

  /** The admitted frame cost nothing (an ack the client owed): its token goes back. */
  synchronized void refund() {
    tokens = Math.min(burst, tokens + 1);
  }
}
