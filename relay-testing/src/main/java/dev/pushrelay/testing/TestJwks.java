package dev.pushrelay.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An identity provider for tests: signing keys, and their public JWK set served over HTTP on a free
 * port of 127.0.0.1, as Firebase Auth or any OIDC provider serves it. {@link #publish} swaps the
 * served keys at any time, to rotate them under a running verifier.
 */
public final class TestJwks implements AutoCloseable {
  public static final String PATH = "/jwks.json";

  private final HttpServer server;
  private final ExecutorService executor;
  private final AtomicReference<String> served = new AtomicReference<>("{\"keys\":[]}");
  private final AtomicInteger fetches = new AtomicInteger();

  private TestJwks(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  public static TestJwks start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "test-jwks");
      t.setDaemon(true);
      return t;
    });
    TestJwks jwks = new TestJwks(server, executor);
    server.createContext(PATH, exchange -> {
      jwks.fetches.incrementAndGet();
      byte[] body = jwks.served.get().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.setExecutor(executor);
    server.start();
    return jwks;
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PATH);
  }

  /** Serves the public halves of exactly these keys from now on. */
  public void publish(JWK... keys) {
    served.set(new JWKSet(List.of(keys)).toString(true));
  }

  /** How many times the JWK set was fetched. */
  public int fetches() {
    return fetches.get();
  }

  public static RSAKey rsaKey(String keyId) {
    try {
      return new RSAKeyGenerator(2048).keyID(keyId).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ECKey ecKey(String keyId) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(keyId).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A token signed with {@code key} under {@code algorithm}, naming the key's id in the header. */
  public static String sign(JWK key, JWSAlgorithm algorithm, JWTClaimsSet claims) {
    return sign(key, new JWSHeader.Builder(algorithm).keyID(key.getKeyID()).build(), claims);
  }

  public static String sign(JWK key, JWSHeader header, JWTClaimsSet claims) {
    try {
      JWSSigner signer = key instanceof RSAKey rsa ? new RSASSASigner(rsa) : new ECDSASigner((ECKey) key);
      SignedJWT jwt = new SignedJWT(header, claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The algorithm-confusion attack: an HS256 token whose HMAC secret is the provider's public key,
   * which a verifier that lets the token pick the algorithm would accept.
   */
  public static String hs256WithPublicKey(RSAKey key, JWTClaimsSet claims) {
    try {
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(key.getKeyID()).build(), claims);
      jwt.sign(new MACSigner(key.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8)));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
