package dev.pushrelay.functions.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.functions.HttpRequest;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BodyReaderTest {
  /** A request whose body is {@code body}, declaring {@code declared} as its length (-1: none). */
  private static HttpRequest request(byte[] body, long declared, InputStream[] opened) {
    return (HttpRequest) Proxy.newProxyInstance(BodyReaderTest.class.getClassLoader(), new Class<?>[] {HttpRequest.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getContentLength" -> declared;
          case "getInputStream" -> opened[0] = new ByteArrayInputStream(body);
          default -> null;
        });
  }

  @Test
  void aBodyWithinTheLimitIsRead() throws Exception {
    InputStream[] in = new InputStream[1];
    assertEquals(Optional.of("hello"), BodyReader.read(request("hello".getBytes(), 5, in), 10).map(String::new));
  }

  /** An oversize body is read to its end before the 413, so the client gets the answer, not a reset. */
  @Test
  void anOversizeBodyIsReadOutAndRefused() throws Exception {
    byte[] big = new byte[300_000];
    for (long declared : new long[] {big.length, -1}) {
      InputStream[] in = new InputStream[1];
      assertTrue(BodyReader.read(request(big, declared, in), 256 * 1024).isEmpty());
      assertEquals(0, in[0].available(), "nothing left unread (declared length " + declared + ")");
    }
  }

  @Test
  void aBodyFarOverTheLimitIsNotReadOn() throws Exception {
    byte[] huge = new byte[(int) BodyReader.DRAIN_BYTES + 1];
    InputStream[] in = new InputStream[1];
    assertTrue(BodyReader.read(request(huge, huge.length, in), 256 * 1024).isEmpty());
    assertEquals(huge.length, in[0].available(), "declared too large to drain: not read at all");
  }
}
