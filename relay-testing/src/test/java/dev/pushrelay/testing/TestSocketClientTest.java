package dev.pushrelay.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The test client against a hand-written server at the wire: what it does with a handshake answered late. */
class TestSocketClientTest {
  private static final Pattern KEY = Pattern.compile("(?im)^Sec-WebSocket-Key:\\s*(\\S+)");

  /**
   * A caller that gave up on a handshake holds no socket, so the socket must not live on when the 101
   * comes after all: it would take and ack messages that no ledger counts (as a chaos run once saw).
   */
  @Test
  void aSocketAnsweredAfterItsCallerGaveUpIsClosedAtOnce() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CountDownLatch gaveUp = new CountDownLatch(1);
      CompletableFuture<Integer> firstOpcode = CompletableFuture.supplyAsync(() -> {
        try {
          return answerLate(server, gaveUp);
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      });
      URI uri = URI.create("ws://127.0.0.1:" + server.getLocalPort() + "/ws");
      assertThrows(TimeoutException.class, () -> TestSocketClient.connect(uri, Map.of(), Duration.ofMillis(300)));
      gaveUp.countDown();
      assertEquals(0x8, firstOpcode.get(10, TimeUnit.SECONDS), "the client's first frame after the 101 is a close");
    }
  }

  /** Accepts one handshake, answers 101 once {@code gaveUp} opens; returns the opcode of the client's first frame. */
  private static int answerLate(ServerSocket server, CountDownLatch gaveUp) throws Exception {
    try (Socket s = server.accept()) {
      String request = readHead(s.getInputStream());
      Matcher key = KEY.matcher(request);
      if (!key.find()) {
        throw new IllegalStateException("no key in " + request);
      }
      gaveUp.await(); // the 101 comes only after the client's wait ran out
      OutputStream out = s.getOutputStream();
      out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Accept: " + accept(key.group(1)) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      int first = s.getInputStream().read();
      return first < 0 ? -1 : first & 0x0F;
    }
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new IllegalStateException("the request ended early: " + head);
      }
      head.append((char) c);
    }
    return head.toString();
  }

  private static String accept(String key) throws Exception {
    byte[] sha1 = MessageDigest.getInstance("SHA-1")
        .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII));
    return Base64.getEncoder().encodeToString(sha1);
  }
}
