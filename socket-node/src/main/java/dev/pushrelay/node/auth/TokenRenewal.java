package dev.pushrelay.node.auth;

import dev.pushrelay.model.ServerFrames;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A token sent on an open socket ({@code auth} frame), checked as at the handshake: verified on
 * {@code verifying} (a JWKS key fetch may block there, never on a Jetty thread or a socket's events),
 * then its revocation looked up, and its {@code sub} must be the socket's user. The answer is one value
 * the socket applies as one event.
 */
public final class TokenRenewal {
  /** The error frame's code of a renewal refused. */
  public static final String REFUSED = "auth_failed";

  /**
   * A renewal's answer: the new expiry when taken (and the new token's {@code iat}, which a later
   * revocation is compared with), else why not (safe to show, never the token).
   */
  public record Outcome(Optional<Instant> expiresAt, Optional<Instant> issuedAt, String refusal) {
    static Outcome taken(VerifiedToken token) {
      return new Outcome(Optional.of(token.expiresAt()), token.issuedAt(), "");
    }

    static Outcome refused(String why) {
      return new Outcome(Optional.empty(), Optional.empty(), why);
    }

    /** The frame that answers the client: {@code auth_ok}, or an {@code error} with code {@code auth_failed}. */
    public String frame() {
      return expiresAt.map(ServerFrames::authOk).orElseGet(() -> ServerFrames.error(REFUSED, refusal));
    }
  }

  private final TokenVerifier verifier;
  private final RevocationCheck revocations;
  private final Executor verifying;
  private final Clock clock;

  public TokenRenewal(TokenVerifier verifier, RevocationCheck revocations, Executor verifying, Clock clock) {
    this.verifier = verifier;
    this.revocations = revocations;
    this.verifying = verifying;
    this.clock = clock;
  }

  /** Checks {@code token} for the socket of {@code userId}; never fails, a refusal is an outcome. */
  public CompletableFuture<Outcome> renew(String token, String userId) {
    CompletableFuture<VerifiedToken> verified = new CompletableFuture<>();
    try {
      verifying.execute(() -> {
        try {
          verified.complete(verifier.verify(token, clock.instant()));
        } catch (AuthException | RuntimeException e) {
          verified.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(Outcome.refused("node busy, send the token again shortly"));
    }
    return verified.thenCompose(t -> {
      if (!t.userId().equals(userId)) {
        return CompletableFuture.completedFuture(Outcome.refused("token names another user"));
      }
      return revocations.check(t).thenApply(verdict -> switch (verdict) {
        case TAKEN -> Outcome.taken(t);
        case REVOKED -> Outcome.refused("token revoked");
        case UNKNOWN -> Outcome.refused("token could not be checked now, send it again shortly");
      });
    }).exceptionally(failed -> Outcome.refused(why(failed)));
  }

  private static String why(Throwable failed) {
    Throwable cause = failed instanceof java.util.concurrent.CompletionException && failed.getCause() != null
        ? failed.getCause() : failed;
    if (cause instanceof AuthException.KeysUnavailable) {
      return "token signing keys cannot be fetched now, send the token again shortly";
    }
    return cause instanceof AuthException ? cause.getMessage() : "token cannot be verified";
  }
}
