package dev.pushrelay.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/** Signs tokens for tests, good and deliberately bad. */
public final class TestTokens {
  public static final String SECRET = "test-secret-that-is-at-least-32-bytes-long!";

  private TestTokens() {}

  public static String valid(String userId) {
    return hs256(SECRET, new JWTClaimsSet.Builder().subject(userId)
        .expirationTime(Date.from(Instant.now().plus(Duration.ofMinutes(10)))).build());
  }

  public static String hs256(String secret, JWTClaimsSet claims) {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    try {
      jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return jwt.serialize();
  }
}
