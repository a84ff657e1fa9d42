package dev.pushrelay.node.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

/**
 * Mints HS256 tokens with the shared secret, for the audience the node requires if it requires one: for
 * local mode's demo page and the dev-token helper.
 */
public final class DevTokens {
  private final byte[] secret;
  private final Optional<String> audience;

  public DevTokens(byte[] secret) {
    this(secret, Optional.empty());
  }

  public DevTokens(byte[] secret, Optional<String> audience) {
    this.secret = secret.clone();
    this.audience = audience;
  }

  public String mint(String userId, Instant now, Duration lifetime) {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .subject(userId)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(lifetime)));
    audience.ifPresent(claims::audience);
    return sign(claims.build());
  }

  private String sign(JWTClaimsSet claims) {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    try {
      jwt.sign(new MACSigner(secret));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a dev token", e);
    }
    return jwt.serialize();
  }

  /**
   * Prints a dev token for the user id given as the first argument, signed with RELAY_JWT_SECRET, for
   * RELAY_JWT_AUDIENCE when set.
   */
  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: dev-token <userId>");
      System.exit(2);
    }
    String secret = System.getenv("RELAY_JWT_SECRET");
    if (secret == null || secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
      System.err.println("RELAY_JWT_SECRET must be set to at least 32 bytes");
      System.exit(2);
    }
    Optional<String> audience = Optional.ofNullable(System.getenv("RELAY_JWT_AUDIENCE")).filter(a -> !a.isBlank());
    System.out.println(new DevTokens(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8), audience)
        .mint(args[0], Instant.now(), Duration.ofHours(1)));
  }
}
