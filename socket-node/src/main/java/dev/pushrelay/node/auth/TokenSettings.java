package dev.pushrelay.node.auth;

import com.nimbusds.jose.JWSAlgorithm;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How the node verifies connection tokens.
 *
 * <ul>
 *   <li>{@link Mode#HS256}: signed with a shared secret of at least 32 bytes (local stack, simple
 *       deployments where your backend mints the tokens).
 *   <li>{@link Mode#JWKS}: signed with the private keys of an identity provider whose public keys are
 *       served as a JWK set, such as Firebase Auth or Identity Platform; {@code iss} and {@code aud}
 *       are then required, since a provider signs the tokens of many projects with the same keys.
 * </ul>
 *
 * @param secret the HS256 secret; empty in JWKS mode
 * @param algorithms the only {@code alg} values accepted (pinned: a token never chooses)
 * @param clockSkew leeway for {@code exp}, {@code nbf} and {@code iat} against clock differences
 * @param jwksRefreshMinInterval at most two JWK set fetches per interval, however many unknown key ids
 *     arrive
 */
public record TokenSettings(
    Mode mode,
    byte[] secret,
    Optional<URI> jwksUrl,
    Set<JWSAlgorithm> algorithms,
    Optional<String> issuer,
    Optional<String> audience,
    Duration clockSkew,
    Duration jwksRefreshMinInterval) {

  public enum Mode { HS256, JWKS }

  /** The algorithms a JWKS provider may use; HMAC is never one of them. */
  public static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
      JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256,
      JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.EdDSA);
  public static final Set<JWSAlgorithm> DEFAULT_JWKS_ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
  public static final Duration DEFAULT_JWKS_REFRESH_MIN_INTERVAL = Duration.ofSeconds(30);
  /** Firebase Auth and Identity Platform ID tokens: {@code iss} is this plus the project id, {@code aud} the project id. */
  public static final String FIREBASE_JWKS_URL =
      "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

  public TokenSettings {
    Objects.requireNonNull(mode, "mode");
    secret = secret.clone();
    algorithms = Set.copyOf(algorithms);
    Objects.requireNonNull(clockSkew, "clockSkew");
    Objects.requireNonNull(jwksRefreshMinInterval, "jwksRefreshMinInterval");
    if (algorithms.isEmpty()) {
      throw new IllegalArgumentException("at least one algorithm");
    }
    if (clockSkew.isNegative() || jwksRefreshMinInterval.isNegative()) {
      throw new IllegalArgumentException("durations must not be negative");
    }
    if (mode == Mode.HS256) {
      if (secret.length < 32) {
        throw new IllegalArgumentException("the HS256 secret must be at least 32 bytes");
      }
      if (!algorithms.equals(Set.of(JWSAlgorithm.HS256))) {
        throw new IllegalArgumentException("HS256 mode accepts HS256 only");
      }
    } else {
      if (jwksUrl.isEmpty() || issuer.isEmpty() || audience.isEmpty()) {
        throw new IllegalArgumentException("JWKS mode needs the JWK set URL, an issuer and an audience");
      }
      if (!ASYMMETRIC.containsAll(algorithms)) {
        throw new IllegalArgumentException("JWKS mode accepts asymmetric algorithms only");
      }
    }
  }

  public static TokenSettings hs256(byte[] secret) {
    return new TokenSettings(Mode.HS256, secret, Optional.empty(), Set.of(JWSAlgorithm.HS256), Optional.empty(),
        Optional.empty(), DEFAULT_CLOCK_SKEW, DEFAULT_JWKS_REFRESH_MIN_INTERVAL);
  }

  public static TokenSettings jwks(URI url, String issuer, String audience) {
    return new TokenSettings(Mode.JWKS, new byte[0], Optional.of(url), DEFAULT_JWKS_ALGORITHMS, Optional.of(issuer),
        Optional.of(audience), DEFAULT_CLOCK_SKEW, DEFAULT_JWKS_REFRESH_MIN_INTERVAL);
  }

  public TokenSettings withClockSkew(Duration skew) {
    return new TokenSettings(mode, secret, jwksUrl, algorithms, issuer, audience, skew, jwksRefreshMinInterval);
  }

  public TokenSettings withJwksRefreshMinInterval(Duration interval) {
    return new TokenSettings(mode, secret, jwksUrl, algorithms, issuer, audience, clockSkew, interval);
  }

  public TokenSettings withIssuerAndAudience(Optional<String> iss, Optional<String> aud) {
    return new TokenSettings(mode, secret, jwksUrl, algorithms, iss, aud, clockSkew, jwksRefreshMinInterval);
  }

  public TokenSettings withAlgorithms(Set<JWSAlgorithm> accepted) {
    return new TokenSettings(mode, secret, jwksUrl, accepted, issuer, audience, clockSkew, jwksRefreshMinInterval);
  }

  @Override
  public byte[] secret() {
    return secret.clone();
  }

  /** Never prints the secret. */
  @Override
  public String toString() {
    return "TokenSettings[mode=" + mode + ", jwksUrl=" + jwksUrl + ", algorithms=" + algorithms + ", issuer="
        + issuer + ", audience=" + audience + ", clockSkew=" + clockSkew + "]";
  }
}
