package dev.pushrelay.logging;

import dev.pushrelay.config.EnvReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * User ids as the logs show them. A user id may be an e-mail address, so no log line at INFO or above
 * holds one: it holds {@code u-} and the first 64 bits of HMAC-SHA256(key, user id) in hex instead. The
 * same user has the same pseudonym in every part of one deployment (the node, both functions, the example
 * backend), so an operator can follow one user through the logs, and can compute a user's pseudonym with
 * the key ({@link #main}); without the key, a log reader cannot tell who it is.
 *
 * <p>The key is {@code RELAY_LOG_KEY} (at least {@value #MIN_KEY_BYTES} bytes). Without it, the key is
 * derived from the project id ({@code GOOGLE_CLOUD_PROJECT}): stable within the deployment, but not secret,
 * so whoever knows the project id can test guessed user ids against the logs; set {@code RELAY_LOG_KEY} in
 * production. The local stack (project {@code relay-local}) uses the derived key.
 *
 * <p>Like the logging configuration itself, the pseudonyms are one per process: each composition root
 * installs them ({@link #install}) from its environment before it serves; until then the local stack's
 * are used.
 */
public final class Pseudonyms {
  public static final String KEY_VARIABLE = "RELAY_LOG_KEY";
  public static final int MIN_KEY_BYTES = 16;
  /** The project of the local stack, whose derived key is the documented default. */
  public static final String LOCAL_PROJECT = "relay-local";
  private static final String PREFIX = "u-";
  private static final String DERIVATION = "push relay log pseudonyms v1\0";

  private static volatile Pseudonyms installed = derivedFrom(LOCAL_PROJECT);

  private final SecretKeySpec key;
  private final ThreadLocal<Mac> macs;

  private Pseudonyms(byte[] key) {
    this.key = new SecretKeySpec(key, "HmacSHA256");
    this.macs = ThreadLocal.withInitial(this::newMac);
  }

  /** Pseudonyms under {@code key}; at least {@value #MIN_KEY_BYTES} bytes. */
  public static Pseudonyms withKey(byte[] key) {
    if (key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException("a log key has at least " + MIN_KEY_BYTES + " bytes");
    }
    return new Pseudonyms(key.clone());
  }

  /** Pseudonyms under a key derived from the project id: stable, not secret. */
  public static Pseudonyms derivedFrom(String project) {
    try {
      return new Pseudonyms(MessageDigest.getInstance("SHA-256")
          .digest((DERIVATION + project).getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  /**
   * The pseudonyms the environment asks for: {@code RELAY_LOG_KEY}, else derived from
   * {@code GOOGLE_CLOUD_PROJECT}. A key too short is a problem of {@code env}; then empty.
   */
  public static Optional<Pseudonyms> read(EnvReader env) {
    Optional<String> key = env.optional(KEY_VARIABLE);
    if (key.isPresent()) {
      byte[] bytes = key.get().getBytes(StandardCharsets.UTF_8);
      if (bytes.length < MIN_KEY_BYTES) {
        env.problem(KEY_VARIABLE + " must be at least " + MIN_KEY_BYTES + " bytes long");
        return Optional.empty();
      }
      return Optional.of(withKey(bytes));
    }
    return Optional.of(derivedFrom(env.optional("GOOGLE_CLOUD_PROJECT").orElse(LOCAL_PROJECT)));
  }

  /** Reads them from {@code environment} and installs them; a bad key throws a ConfigException. */
  public static void installFrom(Map<String, String> environment) {
    EnvReader env = new EnvReader(environment);
    Optional<Pseudonyms> read = read(env);
    env.finish();
    install(read.orElseThrow());
  }

  /** What {@link #user} uses from now on in this process. */
  public static void install(Pseudonyms pseudonyms) {
    installed = pseudonyms;
  }

  /** {@code userId} as a log line may show it, with the installed key. */
  public static String user(String userId) {
    return installed.of(userId);
  }

  /** {@code u-} and 16 hex digits; {@code -} for no user. */
  public String of(String userId) {
    if (userId == null) {
      return "-";
    }
    byte[] mac = macs.get().doFinal(userId.getBytes(StandardCharsets.UTF_8));
    return PREFIX + HexFormat.of().formatHex(mac, 0, 8);
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JVM", e);
    }
  }

  /** Prints the pseudonym of each user id given, with the key this environment gives: to find a user in the logs. */
  public static void main(String[] args) {
    installFrom(System.getenv());
    for (String userId : args) {
      System.out.println(userId + " " + user(userId));
    }
  }
}
