package dev.pushrelay.node.ws;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * How often one key (a user, a client address) may open a socket on this node: a token bucket of
 * {@code burst} handshakes refilled at {@code perSecond}. Each handshake that gets through costs the
 * relay a registry write, a mailbox query and a removal, so a token that loops connect and close, or an
 * address that mints identities, is answered 429 before any of that. The buckets of at most
 * {@code keys} recent keys are kept; the least recently seen go first.
 *
 * <p>What it holds is bounded by its keys, so a key must be of bounded size: a
 * {@link ClientAddresses.Key} (24 bytes) or a user id (at most 128 characters, checked at the token).
 * An entry costs {@link #ENTRY_BYTES} beside its key: the map's entry (40 bytes with compressed
 * references), the bucket (32) and its share of the table (at most 8).
 */
final class HandshakeRateLimit<K> {
  /** The heap an entry costs besides its key, rounded up. */
  static final int ENTRY_BYTES = 80;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final double perNano;
  private final double burst;
  private final Map<K, double[]> buckets;

  /**
   * A limit that keeps at most {@code heapBytes} of buckets, for keys of at most {@code keyBytes} each:
   * {@code heapBytes / (ENTRY_BYTES + keyBytes)} keys.
   */
  static <K> HandshakeRateLimit<K> withinHeap(double perSecond, int burst, long heapBytes, int keyBytes) {
    return new HandshakeRateLimit<>(perSecond, burst, (int) Math.max(1, heapBytes / (ENTRY_BYTES + keyBytes)));
  }

  HandshakeRateLimit(double perSecond, int burst, int keys) {
    this.perNano = perSecond / NANOS_PER_SECOND;
    this.burst = burst;
    this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<K, double[]> eldest) {
        return size() > keys;
      }
    };
  }

  /** Empty when {@code key} may open a socket now (and takes its token), else how long it must wait. */
  synchronized Optional<Duration> take(K key, long nowNanos) {
    double[] b = buckets.computeIfAbsent(key, k -> new double[] {burst, nowNanos});
    b[0] = Math.min(burst, b[0] + Math.max(0, nowNanos - (long) b[1]) * perNano);
    b[1] = nowNanos;
    if (b[0] >= 1) {
      b[0] -= 1;
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos((long) Math.ceil((1 - b[0]) / perNano)));
  }

  synchronized int size() {
    return buckets.size();
  }
}
