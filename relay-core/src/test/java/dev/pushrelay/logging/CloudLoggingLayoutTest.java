package dev.pushrelay.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The layout is the contract with Cloud Logging: its fields, and what it must never write. */
class CloudLoggingLayoutTest {
  private static final String TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";

  private static JsonNode layout(Level level, String message, Map<String, String> mdc) throws Exception {
    LoggerContext context = new LoggerContext();
    LoggingEvent event = new LoggingEvent("test", context.getLogger("test"), level, message, null, null);
    event.setMDCPropertyMap(mdc);
    CloudLoggingLayout layout = new CloudLoggingLayout();
    layout.setProjectId("p1");
    String line = layout.doLayout(event);
    assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
    return JsonCodec.read(line.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void writesSeverityMessageLabelsAndTheLinkedTraceField() throws Exception {
    JsonNode line = layout(Level.WARN, "dead letter", Map.of("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736",
        "nodeId", "node-1"));
    assertEquals("WARNING", line.get("severity").asText());
    assertEquals("dead letter", line.get("message").asText());
    assertEquals("projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736",
        line.get("logging.googleapis.com/trace").asText());
    assertEquals("node-1", line.at("/logging.googleapis.com~1labels/nodeId").asText());
    assertFalse(line.at("/logging.googleapis.com~1labels").has("trace_id"));
    assertFalse(layout(Level.INFO, "x", Map.of("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"))
        .has("logging.googleapis.com/labels"), "no empty labels");
  }

  @Test
  void tokensAndKeysNeverReachTheLog() throws Exception {
    String failedHandshake = "writeError: status=500, GET http://127.0.0.1:8090/ws?access_token=" + TOKEN
        + " HTTP/1.1; Authorization: Bearer " + TOKEN + "; X-Relay-Api-Key: s3cret-key";
    String message = layout(Level.WARN, failedHandshake, Map.of()).get("message").asText();
    assertFalse(message.contains(TOKEN), message);
    assertFalse(message.contains("s3cret-key"), message);
    assertTrue(message.contains("access_token=[redacted]"), message);
    assertEquals("user u1 connected", CloudLoggingLayout.redact("user u1 connected"));
    // the subprotocol form and a bare token, wherever a library puts them
    String subprotocol = CloudLoggingLayout.redact("Sec-WebSocket-Protocol: bearer." + TOKEN);
    assertEquals("Sec-WebSocket-Protocol: bearer.[redacted]", subprotocol);
    String bare = CloudLoggingLayout.redact("could not parse " + TOKEN + " (expired)");
    assertEquals("could not parse [redacted] (expired)", bare);
  }
}
