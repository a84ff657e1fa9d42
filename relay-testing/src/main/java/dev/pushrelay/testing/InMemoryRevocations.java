package dev.pushrelay.testing;

import dev.pushrelay.registry.Revocations;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * In-memory revocation seam for unit tests, with the Firestore one's rules (held until {@code HOLD} after
 * its instant, never loosened). {@link #hang} makes every later read hang, as a Firestore that does not
 * answer; {@link #reads} counts the reads.
 */
public final class InMemoryRevocations implements Revocations {
  private final Map<String, Instant> held = new ConcurrentHashMap<>();
  private volatile boolean hanging;
  private final AtomicInteger reads = new AtomicInteger();
  private volatile java.util.function.BiConsumer<String, Instant> revoked = (user, before) -> { };

  @Override
  public CompletableFuture<Optional<Instant>> issuedBefore(String userId, Instant now) {
    reads.incrementAndGet();
    if (hanging) {
      return new CompletableFuture<>();
    }
    Instant before = held.get(userId);
    return CompletableFuture.completedFuture(
        before != null && before.plus(HOLD).isAfter(now) ? Optional.of(before) : Optional.empty());
  }

  @Override
  public CompletableFuture<Void> revoke(String userId, Instant issuedBefore) {
    Instant now = held.merge(userId, issuedBefore, (a, b) -> a.isAfter(b) ? a : b);
    revoked.accept(userId, now); // as a watch hears it
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void onRevoked(java.util.function.BiConsumer<String, Instant> revoked) {
    this.revoked = revoked;
  }

  /** Every read from now on never answers (true), or answers again (false). */
  public void hang(boolean on) {
    hanging = on;
  }

  public int reads() {
    return reads.get();
  }

  public Map<String, Instant> held() {
    return Map.copyOf(held);
  }
}
