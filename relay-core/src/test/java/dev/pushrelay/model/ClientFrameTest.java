package dev.pushrelay.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ClientFrameTest {
  @Test
  void parsesPingAndAck() throws Exception {
    assertInstanceOf(ClientFrame.Ping.class, ClientFrame.parse("{\"type\":\"ping\"}"));
    assertEquals(new ClientFrame.Ack("m-1"), ClientFrame.parse("{\"type\":\"ack\",\"id\":\"m-1\"}"));
  }

  @Test
  void refusesGarbageAndUnknownTypes() {
    assertEquals("bad_frame", assertThrows(ClientFrame.BadFrameException.class,
        () -> ClientFrame.parse("{not json")).code());
    assertEquals("bad_frame", assertThrows(ClientFrame.BadFrameException.class,
        () -> ClientFrame.parse("{\"type\":\"ack\"}")).code());
    assertEquals("unknown_type", assertThrows(ClientFrame.BadFrameException.class,
        () -> ClientFrame.parse("{\"type\":\"subscribe\"}")).code());
  }

  @Test
  void parsesAnAuthFrameAndRefusesABadOneWithoutEchoingTheToken() throws Exception {
    ClientFrame.Auth auth = (ClientFrame.Auth) ClientFrame.parse("{\"type\":\"auth\",\"token\":\"a.b.c\"}");
    assertEquals("a.b.c", auth.token());
    assertEquals("Auth[token=…]", auth.toString());
    for (String bad : new String[] {"{\"type\":\"auth\"}", "{\"type\":\"auth\",\"token\":\"\"}",
        "{\"type\":\"auth\",\"token\":7}", "{\"type\":\"auth\",\"token\":\"a.b.c\",\"id\":\"x\"}",
        "{\"type\":\"auth\",\"token\":\"" + "x".repeat(ClientFrame.MAX_TOKEN_CHARS + 1) + "\"}"}) {
      ClientFrame.BadFrameException e = assertThrows(ClientFrame.BadFrameException.class, () -> ClientFrame.parse(bad));
      assertEquals("bad_frame", e.code());
      org.junit.jupiter.api.Assertions.assertFalse(e.getMessage().contains("a.b.c"));
    }
  }

  @Test
  void sessionFramesCarryTheirFields() {
    assertEquals("{\"type\":\"auth_ok\",\"expiresAt\":\"2026-01-01T00:00:30Z\"}",
        ServerFrames.authOk(java.time.Instant.parse("2026-01-01T00:00:30Z")));
    assertEquals("{\"type\":\"caught_up\",\"count\":3}", ServerFrames.caughtUp(3));
  }

  @Test
  void messageFrameCarriesIdEventDataAndSentAt() throws Exception {
    RelayMessage m = new RelayMessage("id-9", "u", "ev", "{\"k\":1}", java.time.Instant.EPOCH, 10, Priority.NORMAL);
    assertEquals("{\"type\":\"message\",\"id\":\"id-9\",\"event\":\"ev\",\"data\":{\"k\":1},"
        + "\"sentAt\":\"1970-01-01T00:00:00.000000Z\"}", ServerFrames.message(m));
  }

  @Test
  void parsesAPublishWithAnyJsonData() throws Exception {
    ClientFrame.Publish p = (ClientFrame.Publish) ClientFrame.parse(
        "{\"type\":\"publish\",\"id\":\"answer#1\",\"event\":\"chat.reply\",\"data\":{\"text\":\"hi\"}}");
    assertEquals("answer#1", p.id());
    assertEquals("chat.reply", p.event());
    assertEquals("{\"text\":\"hi\"}", p.data().toString());
    assertEquals("null", ((ClientFrame.Publish) ClientFrame.parse(
        "{\"type\":\"publish\",\"id\":\"x\",\"event\":\"e\",\"data\":null}")).data().toString());
  }

  @Test
  void refusesAPublishThatBreaksTheContract() {
    for (String bad : new String[] {
        "{\"type\":\"publish\",\"event\":\"e\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"\",\"event\":\"e\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"" + "x".repeat(129) + "\",\"event\":\"e\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"a b\",\"event\":\"e\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"a\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"a\",\"event\":\"no spaces\",\"data\":1}",
        "{\"type\":\"publish\",\"id\":\"a\",\"event\":\"e\"}",
        "{\"type\":\"publish\",\"id\":\"a\",\"event\":\"e\",\"data\":1,\"userId\":\"someone-else\"}",
        "{\"type\":\"publish\",\"id\":\"a\",\"event\":\"e\",\"data\":\"\\ud800\"}"}) {
      assertEquals("bad_frame", assertThrows(ClientFrame.BadFrameException.class, () -> ClientFrame.parse(bad)).code(),
          bad);
    }
  }

  @Test
  void findsThePublishIdOfAFrameRefusedUnread() {
    assertEquals(java.util.Optional.of("p-1"), ClientFrame.publishIdOf(
        "{\"type\":\"publish\",\"id\":\"p-1\",\"event\":\"bad event\"}"));
    assertEquals(java.util.Optional.empty(), ClientFrame.publishIdOf("{\"type\":\"ack\",\"id\":\"p-1\"}"));
    assertEquals(java.util.Optional.empty(), ClientFrame.publishIdOf("not json"));
  }

  @Test
  void acceptedAndErrorFramesCarryThePublishId() {
    assertEquals("{\"type\":\"accepted\",\"id\":\"p-1\"}", ServerFrames.accepted("p-1"));
    assertEquals("{\"type\":\"error\",\"code\":\"unavailable\",\"id\":\"p-1\",\"message\":\"later\"}",
        ServerFrames.error("unavailable", "p-1", "later"));
  }
}
