package dev.pushrelay.node.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Who a verified token names, until when the node accepts it (its {@code exp} plus the clock skew
 * allowed; a socket is closed with 1008 at that instant), and when it was issued ({@code iat}, if it
 * says), which a revocation of the user is judged by.
 */
public record VerifiedToken(String userId, Instant expiresAt, Optional<Instant> issuedAt) {
  public VerifiedToken {
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(issuedAt, "issuedAt");
  }

  /** A token without {@code iat}. */
  public VerifiedToken(String userId, Instant expiresAt) {
    this(userId, expiresAt, Optional.empty());
  }
}
