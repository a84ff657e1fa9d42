package dev.pushrelay.registry;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The revocation seam: per user, the instant before which the user's tokens are no longer taken
 * (handshakes and in-band renewals whose token's {@code iat} is earlier, or has none, are refused). A
 * revocation holds for {@link #HOLD} after that instant and is then forgotten (Firestore's TTL deletes
 * the document; readers ignore one past its end before that).
 */
public interface Revocations {
  /**
   * How long a revocation holds: a day, longer than any token the relay is meant to take lives (Firebase
   * and Identity Platform ID tokens live an hour; {@code scripts/dev-token.sh} mints one-hour tokens),
   * plus the largest clock skew a node may allow ({@code RELAY_JWT_CLOCK_SKEW_SECONDS}, at most 300). The
   * node sets no bound of its own on a token's life. A token issued before the revocation that is still valid past this is taken
   * again once the revocation is forgotten: keep token lives under a day.
   */
  Duration HOLD = Duration.ofHours(24).plusMinutes(5);

  /** Tokens of {@code userId} issued before this instant are refused, if a revocation holds at {@code now}. */
  CompletableFuture<Optional<Instant>> issuedBefore(String userId, Instant now);

  /**
   * Refuses the user's tokens issued before {@code issuedBefore} until {@code issuedBefore + HOLD}. A later
   * instant than the one held replaces it; an earlier one leaves it (a revocation never loosens).
   */
  CompletableFuture<Void> revoke(String userId, Instant issuedBefore);

  /**
   * Calls {@code revoked} with the user and instant of each revocation this process learns of from now
   * on, where it can (a socket node's watch): the node then closes the sockets a revocation covers that
   * connected before it was seen. Does nothing where revocations are only read.
   */
  default void onRevoked(java.util.function.BiConsumer<String, Instant> revoked) {}
}
