package dev.pushrelay.node.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.pushrelay.model.Limits;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/** Verifies HS256 JWTs signed with the shared secret: the algorithm is pinned, {@code exp} is required. */
public final class TokenVerifier {
  private static final Duration CLOCK_SKEW = Duration.ofSeconds(30);
  private static final int MAX_TOKEN_LENGTH = 8192;

  private final MACVerifier verifier;

  public TokenVerifier(byte[] secret) {
    try {
      this.verifier = new MACVerifier(secret);
    } catch (JOSEException e) {
      throw new IllegalArgumentException("the JWT secret is too short for HS256", e);
    }
  }

  public VerifiedToken verify(String token, Instant now) throws AuthException {
    if (token == null || token.isEmpty()) {
      throw new AuthException("no token");
    }
    if (token.length() > MAX_TOKEN_LENGTH) {
      throw new AuthException("token too long");
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token);
      if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) {
        throw new AuthException("token algorithm not accepted");
      }
      if (!jwt.verify(verifier)) {
        throw new AuthException("bad token signature");
      }
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new AuthException("malformed token");
    } catch (JOSEException e) {
      throw new AuthException("token cannot be verified");
    }
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw new AuthException("token has no exp");
    }
    if (!exp.toInstant().plus(CLOCK_SKEW).isAfter(now)) {
      throw new AuthException("token expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.toInstant().minus(CLOCK_SKEW).isAfter(now)) {
      throw new AuthException("token not valid yet");
    }
    String subject = claims.getSubject();
    if (subject == null || !Limits.USER_ID.matcher(subject).matches()) {
      throw new AuthException("token sub is not a valid user id");
    }
    return new VerifiedToken(subject, exp.toInstant());
  }
}
