package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.node.config.SocketLimits;
import org.junit.jupiter.api.Test;

class ConnectionHubTest {
  @Test
  void capsEachUserAndTheNode() throws Exception {
    ConnectionHub hub = new ConnectionHub(3, 2);
    hub.reserve("a");
    hub.reserve("a");
    assertEquals(ConnectionHub.Refusal.USER_FULL,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("a")).refusal());
    hub.reserve("b");
    assertEquals(ConnectionHub.Refusal.NODE_FULL,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("c")).refusal());
    // a refusal for a full node does not use up the user's share
    hub.release("a");
    hub.reserve("c");
    assertEquals(3, hub.reserved());
    hub.release("a");
    hub.reserve("a");
    assertEquals(3, hub.reserved());
  }

  /** Past the node's memory budget a new socket is refused, and its room goes back; under it, it is let in. */
  @Test
  void pastTheMemoryBudgetNewSocketsAreRefused() throws Exception {
    NodeMemory memory = new NodeMemory(100);
    ConnectionHub hub = new ConnectionHub(10, 10, memory);
    memory.queued(51);
    assertEquals(ConnectionHub.Refusal.OUT_OF_MEMORY,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("a")).refusal());
    assertEquals(0, hub.reserved());
    memory.released(51);
    hub.reserve("a");
    assertEquals(1, hub.reserved());
  }
}
