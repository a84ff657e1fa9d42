package dev.pushrelay.pubsub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.ServerFrames;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What the relay publishes to its upstream topic for the backend: a client's {@code publish}, and the
 * {@code connected} and {@code disconnected} events of each socket. Every one carries the user id the
 * node verified in the token (never one the client wrote), the connection and the node, as JSON data
 * and as attributes (for subscription filters), and has the connection id as its ordering key.
 */
public final class UpstreamMessages {
  public static final String MESSAGE = "message";
  public static final String CONNECTED = "connected";
  public static final String DISCONNECTED = "disconnected";
  /** The {@code reason} of a disconnect the node saw (the close code says how it ended). */
  public static final String REASON_CLOSED = "closed";
  /** The {@code reason} of a disconnect that the cleanup of a crashed node reports for its sockets. */
  public static final String REASON_NODE_LOST = "node_lost";

  /** Who and where: the verified user, the socket and the node incarnation that holds it. */
  public record Socket(String userId, String connectionId, String nodeId) {}

  private UpstreamMessages() {}

  /** A client's publish frame. */
  public static OutboundMessage message(Socket s, String id, String event, JsonNode payload, Instant receivedAt,
      Map<String, String> trace) {
    ObjectNode data = JsonCodec.object();
    data.put("id", id);
    socketFields(data, s);
    data.put("event", event);
    data.set("data", payload);
    data.put("receivedAt", ServerFrames.acceptStamp(receivedAt));
    Map<String, String> attributes = attributes(MESSAGE, s, trace);
    attributes.put(MessageAttributes.EVENT, event);
    return new OutboundMessage(JsonCodec.write(data), attributes, s.connectionId());
  }

  public static OutboundMessage connected(Socket s, Instant connectedAt) {
    ObjectNode data = JsonCodec.object();
    data.put("type", CONNECTED);
    socketFields(data, s);
    data.put("connectedAt", ServerFrames.acceptStamp(connectedAt));
    return new OutboundMessage(JsonCodec.write(data), attributes(CONNECTED, s, Map.of()), s.connectionId());
  }

  /** {@code closeCode}: the WebSocket close code, empty when the node did not see the close (node_lost). */
  public static OutboundMessage disconnected(Socket s, Instant connectedAt, Instant disconnectedAt,
      OptionalInt closeCode, String reason) {
    ObjectNode data = JsonCodec.object();
    data.put("type", DISCONNECTED);
    socketFields(data, s);
    data.put("connectedAt", ServerFrames.acceptStamp(connectedAt));
    data.put("disconnectedAt", ServerFrames.acceptStamp(disconnectedAt));
    if (closeCode.isPresent()) {
      data.put("closeCode", closeCode.getAsInt());
    } else {
      data.putNull("closeCode");
    }
    data.put("livedMs", Math.max(0, Duration.between(connectedAt, disconnectedAt).toMillis()));
    data.put("reason", reason);
    Map<String, String> attributes = attributes(DISCONNECTED, s, Map.of());
    attributes.put(MessageAttributes.REASON, reason);
    return new OutboundMessage(JsonCodec.write(data), attributes, s.connectionId());
  }

  private static void socketFields(ObjectNode data, Socket s) {
    data.put("userId", s.userId());
    data.put("connectionId", s.connectionId());
    data.put("nodeId", s.nodeId());
  }

  private static Map<String, String> attributes(String type, Socket s, Map<String, String> trace) {
    Map<String, String> a = new HashMap<>(trace);
    a.put(MessageAttributes.TYPE, type);
    a.put(MessageAttributes.USER_ID, s.userId());
    a.put(MessageAttributes.CONNECTION_ID, s.connectionId());
    a.put(MessageAttributes.NODE_ID, s.nodeId());
    return a;
  }
}
