package dev.pushrelay.node.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.pushrelay.testing.TestJwks;
import dev.pushrelay.testing.TestTokens;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TokenVerifierTest {
  private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
  private static final String ISSUER = "https://securetoken.google.com/relay-test";
  private static final String AUDIENCE = "relay-test";
  private static final RSAKey RSA = TestJwks.rsaKey("rsa-1");
  private static final ECKey EC = TestJwks.ecKey("ec-1");
  private static TestJwks jwks;

  @BeforeAll
  static void start() throws Exception {
    jwks = TestJwks.start();
  }

  @AfterAll
  static void stop() {
    jwks.close();
  }

  private static JWTClaimsSet.Builder claims(String sub) {
    return new JWTClaimsSet.Builder().subject(sub).issuer(ISSUER).audience(AUDIENCE)
        .issueTime(Date.from(NOW.minusSeconds(60))).expirationTime(Date.from(NOW.plusSeconds(600)));
  }

  private static TokenVerifier hs256() {
    return new TokenVerifier(TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * An HS256 node with an audience (RELAY_JWT_AUDIENCE, on in Terraform) takes only tokens minted for it:
   * a token the backend signed with the same key for another service is refused, and so is one with no aud.
   */
  @Test
  void hs256WithAnAudienceTakesOnlyTokensForIt() throws Exception {
    byte[] secret = TestTokens.SECRET.getBytes(StandardCharsets.UTF_8);
    TokenVerifier v = new TokenVerifier(TokenSettings.hs256(secret)
        .withIssuerAndAudience(java.util.Optional.empty(), java.util.Optional.of("push-relay")));
    JWTClaimsSet.Builder noAudience = new JWTClaimsSet.Builder().subject("alice")
        .issueTime(Date.from(NOW.minusSeconds(60))).expirationTime(Date.from(NOW.plusSeconds(600)));
    assertEquals("alice", v.verify(TestTokens.hs256(TestTokens.SECRET, noAudience.audience("push-relay").build()),
        NOW).userId());
    assertEquals("token audience not accepted", refused(v, TestTokens.hs256(TestTokens.SECRET,
        noAudience.audience("billing-service").build())));
    assertEquals("token audience not accepted", refused(v, TestTokens.hs256(TestTokens.SECRET,
        noAudience.audience((String) null).build())));
    assertEquals("bob", v.verify(new DevTokens(secret, java.util.Optional.of("push-relay"))
        .mint("bob", NOW, Duration.ofMinutes(5)), NOW).userId(), "the dev tokens carry it");
    assertEquals("carol", hs256().verify(new DevTokens(secret).mint("carol", NOW, Duration.ofMinutes(5)), NOW)
        .userId(), "without an audience none is asked for");
  }

  private static TokenVerifier jwks(Duration refreshMinInterval) {
    jwks.publish(RSA, EC);
    return new TokenVerifier(TokenSettings.jwks(jwks.url(), ISSUER, AUDIENCE)
        .withJwksRefreshMinInterval(refreshMinInterval));
  }

  private static String refused(TokenVerifier verifier, String token) {
    return assertThrows(AuthException.class, () -> verifier.verify(token, NOW)).getMessage();
  }

  @Test
  void hs256AcceptsItsOwnTokensAndReportsTheDeadlineWithSkew() throws Exception {
    VerifiedToken t = hs256().verify(TestTokens.hs256(TestTokens.SECRET, claims("alice").build()), NOW);
    assertEquals("alice", t.userId());
    assertEquals(NOW.plusSeconds(600).plus(TokenSettings.DEFAULT_CLOCK_SKEW), t.expiresAt());
  }

  @Test
  void hs256RefusesWhatItMustRefuse() {
    TokenVerifier v = hs256();
    assertEquals("no token", refused(v, null));
    assertEquals("no token", refused(v, ""));
    assertEquals("token too long", refused(v, "a".repeat(TokenVerifier.MAX_TOKEN_LENGTH + 1)));
    assertEquals("malformed token", refused(v, "not.a.jwt"));
    assertEquals("unsigned tokens are not accepted",
        refused(v, new PlainJWT(new PlainHeader(), claims("eve").build()).serialize()));
    assertEquals("token algorithm not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("eve").build())));
    assertEquals("bad token signature or unknown signing key",
        refused(v, TestTokens.hs256("another-secret-that-is-also-32-bytes-long", claims("eve").build())));
    assertEquals("token has no exp", refused(v, TestTokens.hs256(TestTokens.SECRET,
        new JWTClaimsSet.Builder().subject("eve").build())));
    assertEquals("token expired", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("eve").expirationTime(Date.from(NOW.minusSeconds(31))).build())));
    assertEquals("token not valid yet", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("eve").notBeforeTime(Date.from(NOW.plusSeconds(31))).build())));
    assertEquals("token issued in the future", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("eve").issueTime(Date.from(NOW.plusSeconds(3600))).build())));
    assertEquals("token sub is not a valid user id", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("a/b").build())));
    assertEquals("token sub is not a valid user id", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("u".repeat(129)).build())));
    assertEquals("token sub is not a valid user id", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims(null).build())));
    // valid characters, but names the mailbox and the registry cannot store
    for (String reserved : new String[] {".", "..", "__x__"}) {
      assertEquals("token sub is reserved: . and .. and names like __x__ cannot be user ids",
          refused(v, TestTokens.hs256(TestTokens.SECRET, claims(reserved).build())), reserved);
    }
  }

  @Test
  void clockSkewIsAllowedBothWays() throws Exception {
    TokenVerifier v = hs256();
    v.verify(TestTokens.hs256(TestTokens.SECRET, claims("al").expirationTime(Date.from(NOW.minusSeconds(29))).build()),
        NOW);
    v.verify(TestTokens.hs256(TestTokens.SECRET, claims("al").notBeforeTime(Date.from(NOW.plusSeconds(29))).build()),
        NOW);
    TokenVerifier strict = new TokenVerifier(TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8))
        .withClockSkew(Duration.ZERO));
    assertEquals("token expired", refused(strict, TestTokens.hs256(TestTokens.SECRET,
        claims("al").expirationTime(Date.from(NOW)).build())));
  }

  @Test
  void hs256ChecksIssuerAndAudienceWhenConfigured() throws Exception {
    TokenVerifier v = new TokenVerifier(TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8))
        .withIssuerAndAudience(java.util.Optional.of(ISSUER), java.util.Optional.of(AUDIENCE)));
    v.verify(TestTokens.hs256(TestTokens.SECRET, claims("al").build()), NOW);
    assertEquals("token issuer not accepted", refused(v, TestTokens.hs256(TestTokens.SECRET,
        claims("al").issuer("other").build())));
  }

  @Test
  void jwksAcceptsRs256AndEs256FromTheProvider() throws Exception {
    TokenVerifier v = jwks(Duration.ZERO);
    assertEquals("alice", v.verify(TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("alice").build()), NOW).userId());
    assertEquals("bob", v.verify(TestJwks.sign(EC, JWSAlgorithm.ES256, claims("bob").build()), NOW).userId());
    assertEquals("carol", v.verify(TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("carol").audience(List.of("other", AUDIENCE)).build()), NOW).userId());
  }

  @Test
  void jwksRefusesWhatItMustRefuse() {
    TokenVerifier v = jwks(Duration.ZERO);
    assertEquals("token issuer not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("eve").issuer("https://securetoken.google.com/another-project").build())));
    assertEquals("token issuer not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("eve").issuer(null).build())));
    assertEquals("token audience not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("eve").audience("another-project").build())));
    assertEquals("token audience not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("eve").audience((String) null).build())));
    assertEquals("token algorithm not accepted", refused(v, TestJwks.hs256WithPublicKey(RSA, claims("eve").build())));
    assertEquals("token algorithm not accepted", refused(v, TestTokens.hs256(TestTokens.SECRET, claims("eve").build())));
    assertEquals("token algorithm not accepted", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS512, claims("eve").build())));
    assertEquals("unsigned tokens are not accepted",
        refused(v, new PlainJWT(new PlainHeader(), claims("eve").build()).serialize()));
    RSAKey stranger = TestJwks.rsaKey("rsa-1");
    assertEquals("bad token signature or unknown signing key",
        refused(v, TestJwks.sign(stranger, JWSAlgorithm.RS256, claims("eve").build())));
    RSAKey unknown = TestJwks.rsaKey("not-published");
    assertEquals("bad token signature or unknown signing key",
        refused(v, TestJwks.sign(unknown, JWSAlgorithm.RS256, claims("eve").build())));
    assertEquals("token expired", refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256,
        claims("eve").expirationTime(Date.from(NOW.minusSeconds(3600))).build())));
    assertEquals("bad token signature or unknown signing key", refused(v, TestJwks.sign(RSA,
        new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").type(new com.nimbusds.jose.JOSEObjectType("at+jwt"))
            .build(), claims("eve").build())));
  }

  @Test
  void keyRotationIsPickedUpWithoutARestart() throws Exception {
    TokenVerifier v = jwks(Duration.ZERO);
    v.verify(TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("alice").build()), NOW);
    RSAKey next = TestJwks.rsaKey("rsa-2");
    jwks.publish(next);
    // a token under the new key id makes the verifier fetch the set again
    assertEquals("alice", v.verify(TestJwks.sign(next, JWSAlgorithm.RS256, claims("alice").build()), NOW).userId());
    // and the retired key, gone from the fetched set, no longer verifies
    assertEquals("bad token signature or unknown signing key",
        refused(v, TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("alice").build())));
  }

  @Test
  void unknownKeyIdsCannotMakeTheNodeHammerTheProvider() throws Exception {
    TokenVerifier v = jwks(Duration.ofMinutes(1));
    assertTrue(v.warmUp().isEmpty());
    int before = jwks.fetches();
    for (int i = 0; i < 20; i++) {
      try {
        v.verify(TestJwks.sign(TestJwks.rsaKey("bogus-" + i), JWSAlgorithm.RS256, claims("eve").build()), NOW);
      } catch (AuthException expected) {
        // 401 while the rate limit lets a refresh through, then 503: keys unavailable
      }
    }
    assertTrue(jwks.fetches() - before <= 2, "fetched " + (jwks.fetches() - before) + " times");
    assertThrows(AuthException.KeysUnavailable.class, () -> v.verify(TestJwks.sign(TestJwks.rsaKey("bogus-x"),
        JWSAlgorithm.RS256, claims("eve").build()), NOW));
    // known keys stay served from the cache meanwhile
    assertEquals("alice", v.verify(TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("alice").build()), NOW).userId());
  }

  @Test
  void anUnreachableProviderIsTheNodesProblemNotTheClients() {
    TokenVerifier v = new TokenVerifier(TokenSettings.jwks(URI.create("http://127.0.0.1:1/jwks.json"), ISSUER,
        AUDIENCE));
    assertTrue(v.warmUp().isPresent());
    assertThrows(AuthException.KeysUnavailable.class,
        () -> v.verify(TestJwks.sign(RSA, JWSAlgorithm.RS256, claims("alice").build()), NOW));
  }

  @Test
  void settingsNeverPrintTheSecret() {
    assertTrue(!TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)).toString()
        .contains(TestTokens.SECRET));
  }
}
