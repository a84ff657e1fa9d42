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
  void messageFrameCarriesIdEventDataAndSentAt() throws Exception {
    RelayMessage m = new RelayMessage("id-9", "u", "ev", "{\"k\":1}", java.time.Instant.EPOCH, 10, Priority.NORMAL);
    assertEquals("{\"type\":\"message\",\"id\":\"id-9\",\"event\":\"ev\",\"data\":{\"k\":1},"
        + "\"sentAt\":\"1970-01-01T00:00:00.000000Z\"}", ServerFrames.message(m));
  }
}
