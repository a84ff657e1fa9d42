package dev.pushrelay.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A whole node in one test process on an in-memory cloud, driven by the real Jetty WebSocket client:
 * the data path end to end (delivery pulled, written, acked by the client, then acked to the channel),
 * the mailbox at connect, the connection events, and the drain.
 */
class InMemoryNodeTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private MemoryNode memory;

  @AfterEach
  void stop() {
    if (memory != null) {
      memory.close();
    }
  }

  private TestSocketClient connect(String user) throws Exception {
    TestSocketClient c = TestSocketClient.connect(memory.ws(), Map.of("Authorization", "Bearer " + TestTokens.valid(user)),
        WAIT);
    c.awaitType("connection_established", WAIT);
    return c;
  }

  private static RelayMessage message(String id, String user) {
    return new RelayMessage(id, user, "agent_update", "{\"step\":3}", Instant.now(), 3600, Priority.NORMAL);
  }

  /** Deliveries the node's subscription still holds unacked. */
  private int heldDeliveries() {
    return memory.broker.held(MemoryNode.TOPOLOGY.deliveriesSubscriptionFor(memory.node.nodeId()));
  }

  private List<String> upstreamTypes() {
    return memory.publisher.on(MemoryNode.TOPOLOGY.upstreamTopic()).stream()
        .map(p -> p.message().attributes().get("type")).toList();
  }

  @Test
  void aDeliveryIsWrittenAndLetGoOfOnlyOnceTheClientAckedIt() throws Exception {
    memory = new MemoryNode();
    try (TestSocketClient client = connect("u1")) {
      assertEquals(1, memory.registry.connections().size(), "registered");
      memory.deliver(message("m1", "u1"));
      TestSocketClient.Frame frame = client.awaitType("message", WAIT);
      assertEquals("m1", frame.json().get("id").asText());
      Await.until("the delivery still held", WAIT, () -> heldDeliveries() == 1);
      client.send("{\"type\":\"ack\",\"id\":\"m1\"}");
      Await.until("the delivery acked once the client acked", WAIT, () -> heldDeliveries() == 0);
      assertEquals(1, memory.broker.acked().size());
    }
  }

  @Test
  void aParkedMessageIsWrittenRightAfterConnectionEstablished() throws Exception {
    memory = new MemoryNode();
    memory.mailbox.park(message("parked", "u2"), 1, false, 10, Instant.now()).get();
    try (TestSocketClient client = connect("u2")) {
      assertEquals("parked", client.awaitType("message", WAIT).json().get("id").asText());
      client.send("{\"type\":\"ack\",\"id\":\"parked\"}");
      Await.until("the entry delivered once acked", WAIT,
          () -> memory.mailbox.entries().values().stream().allMatch(e -> e.state().equals("delivered")));
    }
  }

  /** The drain: 1012 to each socket, the disconnected event out, and only then the registry entry gone. */
  @Test
  void theDrainClosesWith1012AndTellsTheBackend() throws Exception {
    memory = new MemoryNode();
    TestSocketClient client = connect("u3");
    Await.until("the connected event", WAIT, () -> upstreamTypes().equals(List.of("connected")));
    memory.close();
    assertEquals(1012, client.awaitClose(WAIT));
    assertEquals(List.of("connected", "disconnected"), upstreamTypes());
    var data = JsonCodec.read(memory.publisher.on(MemoryNode.TOPOLOGY.upstreamTopic()).get(1).message().data());
    assertEquals(1012, data.get("closeCode").asInt());
    assertTrue(memory.registry.connections().isEmpty(), "removed once the event was out");
    memory = null;
  }

  /**
   * Every frame counts against the socket's inbound rate limit, also the kinds that carry no message: a
   * client that floods pongs the node never asked for (up to 2,000), or one message cut into 2,000
   * fragments, is closed with 1008 as a flood of messages is. The node's close code is read from the
   * socket's {@code disconnected} event. The client sees that 1008, or 1006 when its next frame, still on
   * its way, made the node's TCP stack answer with a reset that overtook the close frame (Jetty ends the
   * connection right after a close with any code but 1000; see SocketNodeSecurityIT).
   */
  @Test
  void aFloodOfUnsolicitedPongsClosesWith1008() throws Exception {
    memory = new MemoryNode();
    TestSocketClient client = connect("ponger");
    int sent = 0;
    while (sent < 2000 && client.isOpen()) {
      try {
        client.sendPong();
        sent++;
      } catch (Exception closedMeanwhile) {
        break;
      }
    }
    assertEquals(1008, disconnectedCode(), "the node closed it for the flood, after " + sent + " pongs");
    assertTrue(sent < 2000, "closed before the flood was over: " + sent);
    assertClosedByTheNode(client.awaitClose(WAIT));
  }

  @Test
  void aMessageIn2000FragmentsClosesWith1008() throws Exception {
    memory = new MemoryNode();
    TestSocketClient client = connect("fragmenter");
    try {
      client.sendFragmented("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(2000) + "\"}", 2000);
    } catch (Exception closedMeanwhile) {
      // the node closed the socket before the last fragment
    }
    assertEquals(1008, disconnectedCode(), "the node closed it for the flood");
    assertClosedByTheNode(client.awaitClose(WAIT));
  }

  private static void assertClosedByTheNode(int clientCode) {
    assertTrue(clientCode == 1008 || clientCode == 1006, "the client saw the close: " + clientCode);
  }

  /** The close code of the one socket's {@code disconnected} event, as the node saw its close. */
  private int disconnectedCode() throws Exception {
    Await.until("the disconnected event", WAIT, () -> upstreamTypes().contains("disconnected"));
    var events = memory.publisher.on(MemoryNode.TOPOLOGY.upstreamTopic());
    return JsonCodec.read(events.get(events.size() - 1).message().data()).get("closeCode").asInt();
  }
}
