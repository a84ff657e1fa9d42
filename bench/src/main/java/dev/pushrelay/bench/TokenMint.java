package dev.pushrelay.bench;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mints the HS256 tokens the socket node and both peers accept ({@code sub} = user id, {@code exp}),
 * locally: thousands of sockets need thousands of tokens, more than the node's dev endpoint should serve.
 */
final class TokenMint {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final String HEADER = B64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
      .getBytes(StandardCharsets.UTF_8));
  private final SecretKeySpec key;
  private final Duration lifetime;

  TokenMint(String secret, Duration lifetime) {
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.lifetime = lifetime;
  }

  /** User ids here are our own ([a-z0-9-]), so the claims need no JSON escaping. */
  String mint(String userId) {
    long now = Instant.now().getEpochSecond();
    String claims = "{\"sub\":\"" + userId + "\",\"iat\":" + now + ",\"exp\":" + (now + lifetime.toSeconds()) + "}";
    String signingInput = HEADER + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return signingInput + "." + B64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
