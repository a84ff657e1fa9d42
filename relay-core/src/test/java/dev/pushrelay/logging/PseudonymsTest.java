package dev.pushrelay.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.config.ConfigException;
import dev.pushrelay.config.EnvReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PseudonymsTest {
  private static final byte[] KEY = "0123456789abcdef-log-key".getBytes(StandardCharsets.UTF_8);

  @AfterEach
  void localAgain() {
    Pseudonyms.install(Pseudonyms.derivedFrom(Pseudonyms.LOCAL_PROJECT));
  }

  @Test
  void aUserIsAStablePseudonymThatHidesTheId() {
    Pseudonyms p = Pseudonyms.withKey(KEY);
    String alice = p.of("alice@example.com");
    assertTrue(alice.matches("u-[0-9a-f]{16}"), alice);
    assertFalse(alice.contains("alice"));
    assertEquals(alice, Pseudonyms.withKey(KEY).of("alice@example.com"), "stable under one key");
    assertNotEquals(alice, p.of("bob@example.com"));
    assertNotEquals(alice, Pseudonyms.withKey("another-key-of-16-bytes".getBytes(StandardCharsets.UTF_8))
        .of("alice@example.com"), "another deployment, another pseudonym");
    assertEquals("-", p.of(null));
  }

  /** HMAC-SHA256 truncated to 64 bits: a known answer, so that the scheme cannot drift unnoticed. */
  @Test
  void theSchemeIsHmacSha256Truncated() throws Exception {
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new javax.crypto.spec.SecretKeySpec(KEY, "HmacSHA256"));
    String expected = "u-" + java.util.HexFormat.of().formatHex(mac.doFinal("u1".getBytes(StandardCharsets.UTF_8)), 0, 8);
    assertEquals(expected, Pseudonyms.withKey(KEY).of("u1"));
  }

  @Test
  void theKeyComesFromTheEnvironmentOrTheProject() {
    Pseudonyms.installFrom(Map.of("RELAY_LOG_KEY", new String(KEY, StandardCharsets.UTF_8)));
    assertEquals(Pseudonyms.withKey(KEY).of("u1"), Pseudonyms.user("u1"));
    Pseudonyms.installFrom(Map.of("GOOGLE_CLOUD_PROJECT", "prod-1"));
    assertEquals(Pseudonyms.derivedFrom("prod-1").of("u1"), Pseudonyms.user("u1"));
    assertNotEquals(Pseudonyms.derivedFrom("relay-local").of("u1"), Pseudonyms.user("u1"));
    Pseudonyms.installFrom(Map.of());
    assertEquals(Pseudonyms.derivedFrom("relay-local").of("u1"), Pseudonyms.user("u1"), "the local default");
  }

  @Test
  void aShortKeyIsRefusedAndChangesNothing() {
    String before = Pseudonyms.user("u1");
    ConfigException e = assertThrows(ConfigException.class,
        () -> Pseudonyms.installFrom(Map.of("RELAY_LOG_KEY", "short")));
    assertEquals(List.of("RELAY_LOG_KEY must be at least 16 bytes long"), e.problems());
    assertEquals(before, Pseudonyms.user("u1"));
    EnvReader env = new EnvReader(Map.of("RELAY_LOG_KEY", "short"));
    assertTrue(Pseudonyms.read(env).isEmpty());
    assertThrows(IllegalArgumentException.class, () -> Pseudonyms.withKey(new byte[15]));
  }
}
