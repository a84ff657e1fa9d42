package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConnectionHubTest {
  @Test
  void capsEachUserAndTheNode() throws Exception {
    ConnectionHub hub = new ConnectionHub(3, 2);
    Reservation a1 = hub.reserve("a");
    hub.reserve("a");
    assertEquals(ConnectionHub.Refusal.USER_FULL,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("a")).refusal());
    hub.reserve("b");
    assertEquals(ConnectionHub.Refusal.NODE_FULL,
        assertThrows(ConnectionHub.CapacityException.class, () -> hub.reserve("c")).refusal());
    // a refusal for a full node does not use up the user's share
    a1.release();
    hub.reserve("c");
    assertEquals(3, hub.reserved());
  }

  @Test
  void aReservationIsReleasedExactlyOnce() throws Exception {
    ConnectionHub hub = new ConnectionHub(1, 1);
    Reservation r = hub.reserve("a");
    r.release();
    r.release();
    assertEquals(0, hub.reserved());
    Reservation again = hub.reserve("a");
    assertEquals(1, hub.reserved());
    again.release();
  }

  @Test
  void anUpgradeThatNeverCompletesGivesTheRoomBack() throws Exception {
    ConnectionHub hub = new ConnectionHub(1, 1);
    Reservation never = hub.reserve("a");
    assertTrue(never.expireIfPending());
    assertEquals(0, hub.reserved());
    assertFalse(never.open(), "a socket opening after the deadline is closed, not counted");
    never.release();
    assertEquals(0, hub.reserved());

    Reservation opened = hub.reserve("a");
    assertTrue(opened.open());
    assertFalse(opened.expireIfPending(), "an open socket keeps its room");
    assertEquals(1, hub.reserved());
    opened.release();
    assertEquals(0, hub.reserved());
  }
}
