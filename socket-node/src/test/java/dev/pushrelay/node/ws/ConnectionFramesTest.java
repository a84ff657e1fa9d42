package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.node.config.SocketLimits;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.websocket.api.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a socket answers to each kind of client frame, and when a client's frames close it. */
class ConnectionFramesTest {
  private final SocketFixture node = new SocketFixture();

  @AfterEach
  void stop() {
    node.close();
  }

  private static Optional<String> frame(SocketFixture.Socket s, String contains) {
    return s.sent().stream().filter(f -> f.contains(contains)).findFirst();
  }

  @Test
  void aPingIsAnsweredAndAnUnknownFrameGetsAnError() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    s.text("{\"type\":\"ping\"}");
    assertTrue(frame(s, "\"type\":\"pong\"").isPresent(), s.sent().toString());
    s.text("{\"type\":\"shout\"}");
    assertTrue(frame(s, "unknown_type").isPresent(), s.sent().toString());
    assertEquals(List.of(), s.jetty().closes());
  }

  @Test
  void aPublishIsAnsweredAcceptedOnceItIsPublished() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    node.pubsub.hold();
    s.text("{\"type\":\"publish\",\"id\":\"p1\",\"event\":\"e\",\"data\":{}}");
    assertTrue(frame(s, "\"id\":\"p1\"").isEmpty(), "not before Pub/Sub took it");
    node.pubsub.release();
    assertTrue(frame(s, "{\"type\":\"accepted\",\"id\":\"p1\"}").isPresent(), s.sent().toString());
    assertTrue(node.pubsub.types().contains("message"));
  }

  @Test
  void aPublishBeforeTheSocketIsEstablishedIsRefusedUnavailable() throws Exception {
    SocketFixture.Socket s = node.open("u1"); // not serving: never established
    s.text("{\"type\":\"publish\",\"id\":\"early\",\"event\":\"e\",\"data\":{}}");
    String refusal = frame(s, "\"id\":\"early\"").orElseThrow();
    assertTrue(refusal.contains("unavailable"), refusal);
  }

  @Test
  void aFrameOver16KiBIsRefusedAsTooLargeWithItsPublishIdAndTheSocketStays() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    s.text("{\"type\":\"publish\",\"id\":\"big\",\"event\":\"e\",\"data\":\"" + "é".repeat(9000) + "\"}");
    String refusal = frame(s, "too_large").orElseThrow();
    assertTrue(refusal.contains("\"id\":\"big\""), refusal);
    assertEquals(List.of(), s.jetty().closes());
    assertTrue(!node.pubsub.types().contains("message"), "never published");
  }

  /** Over the rate limit every publish still gets its own answer; sustained flooding closes with 1008. */
  @Test
  void publishesOverTheRateLimitAreEachAnsweredAndFloodingCloses() throws Exception {
    try (SocketFixture strict = new SocketFixture(SocketLimits.defaults().withInboundRate(1, 2), null, null, 10)) {
      SocketFixture.Socket s = strict.live("u1");
      for (int i = 0; i < 4; i++) {
        s.text("{\"type\":\"publish\",\"id\":\"r" + i + "\",\"event\":\"e\",\"data\":" + i + "}");
      }
      for (int i = 2; i < 4; i++) {
        assertTrue(frame(s, "\"id\":\"r" + i + "\"").orElseThrow().contains("rate_limited"));
      }
      for (int i = 0; i < 10; i++) {
        s.text("{\"type\":\"ping\"}");
      }
      assertEquals(List.of(1008), s.jetty().closes());
    }
  }

  /** Each fragment of a message counts: a message of 100 fragments is a flood, closed with 1008. */
  @Test
  void everyFragmentCountsAgainstTheRateLimit() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    for (int i = 0; i < 99; i++) {
      s.endpoint().onWebSocketPartialText("{", false);
    }
    s.endpoint().onWebSocketPartialText("}", true);
    assertEquals(List.of(1008), s.jetty().closes());
  }

  /** A pong answers a ping of the node's for free; one that answers none counts as any frame. */
  @Test
  void onlyPongsThatAnswerTheNodesPingsAreFree() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    for (int i = 0; i < 40; i++) {
      s.endpoint().onWebSocketPong(ByteBuffer.allocate(0));
    }
    assertEquals(List.of(), s.jetty().closes(), "40 pongs: the burst of 20, then 20 refused");
    s.endpoint().onWebSocketPong(ByteBuffer.allocate(0));
    assertEquals(List.of(1008), s.jetty().closes(), "the 41st: sustained, closed");
  }

  @Test
  void aPongThatAnswersAPingCostsNothing() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    node.advance(SocketLimits.defaults().pingInterval());
    assertEquals(1, s.jetty().pings(), "the node pinged once");
    for (int i = 0; i < 40; i++) {
      s.text("{\"type\":\"ping\"}"); // the burst of 20, then 20 refused: one more and it closes
    }
    assertEquals(List.of(), s.jetty().closes());
    s.endpoint().onWebSocketPong(ByteBuffer.allocate(0));
    assertEquals(List.of(), s.jetty().closes(), "the pong the node asked for costs nothing");
    s.endpoint().onWebSocketPong(ByteBuffer.allocate(0));
    assertEquals(List.of(1008), s.jetty().closes(), "a second one answers nothing: the flood closes");
  }

  @Test
  void aMessageOver64KiBInFragmentsClosesWith1009() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    String part = "x".repeat(16 * 1024);
    for (int i = 0; i < 5; i++) {
      s.endpoint().onWebSocketPartialText(part, false);
    }
    assertEquals(List.of(1009), s.jetty().closes());
  }

  @Test
  void aBinaryFrameClosesWith1003() throws Exception {
    SocketFixture.Socket s = node.live("u1");
    s.endpoint().onWebSocketPartialBinary(ByteBuffer.wrap(new byte[] {1}), true, Callback.NOOP);
    assertEquals(List.of(1003), s.jetty().closes());
  }

  @Test
  void utf8LengthCountsBytesNotChars() {
    assertEquals(3, JettySocket.utf8Length("abc"));
    String big = "é".repeat(9000);
    assertEquals(18000, JettySocket.utf8Length(big));
    assertEquals(4 * 5000, JettySocket.utf8Length("😀".repeat(5000)));
  }
}
