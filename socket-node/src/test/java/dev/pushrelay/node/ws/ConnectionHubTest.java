package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    hub.release("a", false);
    hub.reserve("c");
    assertEquals(3, hub.reserved());
    hub.release("a", false);
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

  /** Sockets opening (handshaken, not yet registered) are capped apart from the capacity. */
  @Test
  void capsTheSocketsOpeningAtOnceButNotTheRegisteredOnes() throws Exception {
    ConnectionHub hub = new ConnectionHub(100, 10, 2);
    hub.reserve("a");
    hub.reserve("b");
    assertEquals(ConnectionHub.Refusal.NODE_BUSY,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("c")).refusal());
    assertEquals(2, hub.reserved(), "a refusal gives its room back");
    hub.release("a", false); // one gave up before it opened
    hub.reserve("c");
    // a node of 300 opens at most 50 at once; its registered sockets do not count
    try (SocketFixture f = new SocketFixture(SocketLimits.defaults(), null, null, 300)) {
      for (int i = 0; i < 100; i++) {
        f.live("live-" + i);
      }
      for (int i = 0; i < 50; i++) {
        f.handshake("opening-" + i);
      }
      assertEquals(ConnectionHub.Refusal.NODE_BUSY,
          assertThrows(ConnectionHub.CapacityException.class, () -> f.hub.reserve("one-more")).refusal());
      assertEquals(150, f.hub.reserved());
      // live sockets that are closing (a fence closes them all) are not opening: room for new ones
      for (int i = 0; i < 100; i++) {
        f.hub.closeUser("live-" + i, SocketClose.LEASE_LOST);
      }
      for (int i = 0; i < 50; i++) {
        f.hub.release("opening-" + i, false); // the handshaken ones gave up
      }
      f.hub.reserve("one-more");
    }
  }
}
