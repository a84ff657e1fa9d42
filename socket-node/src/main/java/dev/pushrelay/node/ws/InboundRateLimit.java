package dev.pushrelay.node.ws;

import dev.pushrelay.model.Limits;

/**
 * The inbound rate limit of one socket: a token bucket of {@code burst} frames refilled at
 * {@code perSecond}, and a tally of refused frames that drains ten times slower. Every frame the client
 * sends counts: each fragment of a message, each ping, each pong the node did not ask for; and it
 * counts by its size too: a frame costs one token per started {@link #BYTES_PER_TOKEN} (every frame the
 * protocol takes whole costs one). A refused frame is
 * dropped (an {@code error} frame {@code rate_limited} says so, at most once a second); once the
 * tally passes {@code burst} the abuse is sustained and the socket is closed with 1008. An ack of a
 * message the socket was really sent gives its token back, so acknowledging a burst of deliveries
 * never counts against a client.
 */
final class InboundRateLimit {
  enum Verdict { ADMIT, REFUSE, REFUSE_AND_WARN, CLOSE }

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** The bytes one token pays for: the largest client frame the relay takes. */
  static final int BYTES_PER_TOKEN = Limits.MAX_CLIENT_FRAME_BYTES;

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

  /** The tokens a frame of {@code bytes} bytes costs: one per started {@link #BYTES_PER_TOKEN}, at least one. */
  static int cost(int bytes) {
    return Math.max(1, (int) ((bytes + (long) BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN));
  }

  /** A frame of one token. */
  Verdict admit(long nowNanos) {
    return admit(nowNanos, 1);
  }

  /** A frame that costs {@code cost} tokens ({@link #cost(int)}), arrived at {@code nowNanos}. */
  synchronized Verdict admit(long nowNanos, int cost) {
    long elapsed = Math.max(0, nowNanos - last);
    last = Math.max(last, nowNanos); // a frame counted late with its arrival time never winds the clock back
    tokens = Math.min(burst, tokens + elapsed * perNano);
    refused = Math.max(0, refused - elapsed * perNano / 10);
    if (tokens >= cost) {
      tokens -= cost;
      return Verdict.ADMIT;
    }
    refused += cost;
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
