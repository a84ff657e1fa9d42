package dev.pushrelay.node.auth;

import dev.pushrelay.registry.Revocations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Whether a verified token's user revoked the tokens it was issued with: one read of the user's
 * revocation, given up on after {@link #deadline}. A token issued before the revocation's instant, or
 * without {@code iat} while a revocation holds, is refused.
 */
public final class RevocationCheck {
  /** Well under the second in which every handshake is answered, with the token's own check before it. */
  public static final Duration DEADLINE = Duration.ofMillis(400);

  /** What the check found. */
  public enum Verdict {
    /** No revocation holds, or the token is newer than it. */
    TAKEN,
    /** Issued before the user's revocation (or says nothing of when): refused. */
    REVOKED,
    /** The revocation could not be read in time: refused, to be tried again. */
    UNKNOWN
  }

  private final Revocations revocations;
  private final Clock clock;
  private final Duration deadline;

  public RevocationCheck(Revocations revocations, Clock clock) {
    this(revocations, clock, DEADLINE);
  }

  public RevocationCheck(Revocations revocations, Clock clock, Duration deadline) {
    this.revocations = revocations;
    this.clock = clock;
    this.deadline = deadline;
  }

  /** The verdict without waiting on the calling thread; {@link Verdict#UNKNOWN} after the deadline. */
  public CompletableFuture<Verdict> check(VerifiedToken token) {
    CompletableFuture<Optional<Instant>> read;
    try {
      read = revocations.issuedBefore(token.userId(), clock.instant());
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    return read.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .handle((before, failed) -> failed != null ? Verdict.UNKNOWN : judge(token, before));
  }

  /** The verdict, waited for on the calling thread (the handshake's), at most the deadline. */
  public Verdict await(VerifiedToken token) {
    try {
      return check(token).get(deadline.toMillis() + 100, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Verdict.UNKNOWN;
    } catch (ExecutionException | TimeoutException e) {
      return Verdict.UNKNOWN;
    }
  }

  private static Verdict judge(VerifiedToken token, Optional<Instant> before) {
    if (before.isEmpty()) {
      return Verdict.TAKEN;
    }
    return token.issuedAt().filter(iat -> !iat.isBefore(before.get())).isPresent() ? Verdict.TAKEN : Verdict.REVOKED;
  }
}
