package dev.pushrelay.examples.echo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EchoReplyTest {
  private static final String DATA = "{\"id\":\"p-1\",\"userId\":\"ana\",\"connectionId\":\"c\",\"nodeId\":\"n\","
      + "\"event\":\"echo\",\"data\":{\"text\":\"hi\",\"userId\":\"mallory\"},\"receivedAt\":\"x\"}";

  @Test
  void anEchoPublishIsSentBackToTheVerifiedUser() throws Exception {
    EchoReply reply = EchoReply.to(Map.of("type", "message", "event", "echo", "user_id", "ana"), DATA).orElseThrow();
    assertEquals("ana", reply.userId());
    JsonNode body = JsonCodec.read(reply.body());
    assertEquals("ana", body.get("userId").asText(), "the attribute's user, not one inside data");
    assertEquals("echo", body.get("event").asText());
    assertEquals("p-1", body.at("/data/replyTo").asText());
    assertEquals("hi", body.at("/data/echo/text").asText());
    assertTrue(body.get("id").asText().matches("echo-[0-9a-f]{32}"));
    assertEquals(reply.body(), EchoReply.to(Map.of("type", "message", "event", "echo", "user_id", "ana"), DATA)
        .orElseThrow().body(), "one publish, one reply id, however often it is delivered");
  }

  @Test
  void otherEventsAndConnectionEventsGetNoReply() {
    assertTrue(EchoReply.to(Map.of("type", "message", "event", "chat", "user_id", "ana"), DATA).isEmpty());
    assertTrue(EchoReply.to(Map.of("type", "connected", "user_id", "ana"), "{}").isEmpty());
    assertTrue(EchoReply.to(Map.of("type", "message", "event", "echo", "user_id", "ana"), "not json").isEmpty());
  }
}
