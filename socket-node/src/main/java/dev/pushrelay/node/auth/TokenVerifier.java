package dev.pushrelay.node.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.EncryptedJWT;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.pushrelay.model.Limits;
import java.net.MalformedURLException;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies connection tokens as {@link TokenSettings} say: HS256 with the shared secret, or RS256/ES256
 * with the keys of a JWK set URL (fetched, cached, refreshed ahead of expiry and again when a token
 * names a key id not seen yet, so a provider's key rotation is picked up without a restart). The
 * algorithm is pinned, the signature checked, then {@code exp} (required), {@code nbf}, {@code iat},
 * {@code iss} and {@code aud}; the user id is {@code sub}. Messages never contain the token.
 */
public final class TokenVerifier {
  static final int MAX_TOKEN_LENGTH = 8192;
  private static final int JWKS_TIMEOUT_MILLIS = 2000;
  private static final int JWKS_SIZE_LIMIT = 256 * 1024;
  private static final Duration JWKS_CACHE_TTL = Duration.ofMinutes(5);

  private final JWKSource<SecurityContext> keys;
  private final DefaultJWTProcessor<SecurityContext> processor;
  private final Set<JWSAlgorithm> algorithms;
  private final Optional<String> issuer;
  private final Optional<String> audience;
  private final Duration clockSkew;

  /** HS256 with the shared secret and the default clock skew. */
  public TokenVerifier(byte[] secret) {
    this(TokenSettings.hs256(secret));
  }

  public TokenVerifier(TokenSettings settings) {
    this(keySource(settings), settings);
  }

  /** With a key source of the caller's (tests); the settings' URL and secret are not used. */
  TokenVerifier(JWKSource<SecurityContext> keys, TokenSettings settings) {
    this.keys = keys;
    this.algorithms = settings.algorithms();
    this.issuer = settings.issuer();
    this.audience = settings.audience();
    this.clockSkew = settings.clockSkew();
    this.processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, keys));
    // the claims are checked below, against the injected clock
    processor.setJWTClaimsSetVerifier((claims, context) -> { });
  }

  private static JWKSource<SecurityContext> keySource(TokenSettings settings) {
    if (settings.mode() == TokenSettings.Mode.HS256) {
      return new ImmutableSecret<>(settings.secret());
    }
    try {
      return JWKSourceBuilder.<SecurityContext>create(settings.jwksUrl().orElseThrow().toURL(),
              new DefaultResourceRetriever(JWKS_TIMEOUT_MILLIS, JWKS_TIMEOUT_MILLIS, JWKS_SIZE_LIMIT))
          .cache(JWKS_CACHE_TTL.toMillis(), JWKS_TIMEOUT_MILLIS * 2L)
          .refreshAheadCache(true)
          .retrying(true)
          .outageTolerant(true)
          .rateLimited(Math.min(settings.jwksRefreshMinInterval().toMillis(), JWKS_CACHE_TTL.toMillis() / 2))
          .build();
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException("the JWK set URL is not a URL", e);
    }
  }

  /**
   * Fetches the keys once, so that a wrong JWK set URL shows at start and the first socket does not
   * wait for the fetch. Never throws: an unreachable provider is retried on demand.
   */
  public Optional<String> warmUp() {
    try {
      keys.get(new JWKSelector(new JWKMatcher.Builder().build()), null);
      return Optional.empty();
    } catch (KeySourceException e) {
      return Optional.of(e.getClass().getSimpleName());
    }
  }

  public VerifiedToken verify(String token, Instant now) throws AuthException {
    if (token == null || token.isEmpty()) {
      throw new AuthException("no token");
    }
    if (token.length() > MAX_TOKEN_LENGTH) {
      throw new AuthException("token too long");
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      throw new AuthException("malformed token");
    }
    if (jwt instanceof PlainJWT) {
      throw new AuthException("unsigned tokens are not accepted");
    }
    if (jwt instanceof EncryptedJWT || !(jwt instanceof SignedJWT signed)) {
      throw new AuthException("encrypted tokens are not accepted");
    }
    if (!algorithms.contains(signed.getHeader().getAlgorithm())) {
      throw new AuthException("token algorithm not accepted");
    }
    JWTClaimsSet claims;
    try {
      claims = processor.process(signed, null);
    } catch (KeySourceException e) {
      throw new AuthException.KeysUnavailable("the token signing keys cannot be fetched now");
    } catch (BadJOSEException e) {
      throw new AuthException("bad token signature or unknown signing key");
    } catch (JOSEException e) {
      throw new AuthException("token cannot be verified");
    }
    return checkClaims(claims, now);
  }

  private VerifiedToken checkClaims(JWTClaimsSet claims, Instant now) throws AuthException {
    Date exp;
    Date nbf;
    Date iat;
    try {
      exp = claims.getDateClaim("exp");
      nbf = claims.getDateClaim("nbf");
      iat = claims.getDateClaim("iat");
    } catch (ParseException e) {
      throw new AuthException("token time claims are not numbers");
    }
    if (exp == null) {
      throw new AuthException("token has no exp");
    }
    Instant validUntil = exp.toInstant().plus(clockSkew);
    if (!validUntil.isAfter(now)) {
      throw new AuthException("token expired");
    }
    if (nbf != null && nbf.toInstant().minus(clockSkew).isAfter(now)) {
      throw new AuthException("token not valid yet");
    }
    if (iat != null && iat.toInstant().minus(clockSkew).isAfter(now)) {
      throw new AuthException("token issued in the future");
    }
    if (issuer.isPresent() && !issuer.get().equals(stringClaim(claims, "iss"))) {
      throw new AuthException("token issuer not accepted");
    }
    if (audience.isPresent()) {
      List<String> aud;
      try {
        aud = claims.getStringListClaim("aud");
      } catch (ParseException e) {
        throw new AuthException("token audience not accepted");
      }
      if (aud == null || !aud.contains(audience.get())) {
        throw new AuthException("token audience not accepted");
      }
    }
    String subject = stringClaim(claims, "sub");
    if (subject == null || !Limits.USER_ID.matcher(subject).matches()) {
      throw new AuthException("token sub is not a valid user id");
    }
    if (!Limits.isDocumentId(subject)) {
      // the mailbox and the registry key documents by user id: these names are Firestore's own
      throw new AuthException("token sub is reserved: . and .. and names like __x__ cannot be user ids");
    }
    return new VerifiedToken(subject, validUntil, Optional.ofNullable(iat).map(Date::toInstant));
  }

  private static String stringClaim(JWTClaimsSet claims, String name) throws AuthException {
    try {
      return claims.getStringClaim(name);
    } catch (ParseException e) {
      throw new AuthException("token " + name + " is not a string");
    }
  }
}
