package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.net.InetAddresses;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientAddressesTest {
  private static final SocketAddress PEER = new InetSocketAddress(InetAddresses.forString("192.0.2.50"), 41000);
  private static final ClientAddresses CLOUD_RUN = new ClientAddresses(1);

  private static ClientAddresses.Key key(String address) {
    return ClientAddresses.Key.of(InetAddresses.forString(address));
  }

  @Test
  void theHopTheFrontEndAppendedCountsWhateverTheClientWroteBeforeIt() {
    assertEquals(key("203.0.113.7"), CLOUD_RUN.key(List.of("203.0.113.7"), PEER));
    assertEquals(key("203.0.113.7"), CLOUD_RUN.key(List.of("1.1.1.1, 203.0.113.7"), PEER), "a forged first hop");
    assertEquals(key("203.0.113.7"), CLOUD_RUN.key(List.of("evil, 9.9.9.9,203.0.113.7 "), PEER));
    assertEquals(key("203.0.113.7"), CLOUD_RUN.key(List.of("1.1.1.1", "203.0.113.7"), PEER),
        "header lines are one list, in order");
  }

  /** A Google external Application Load Balancer appends {@code <client>,<load balancer>}: depth 2. */
  @Test
  void behindALoadBalancerTheClientIsTheSecondHopFromTheRight() {
    ClientAddresses lb = new ClientAddresses(2);
    assertEquals(key("203.0.113.7"), lb.key(List.of("6.6.6.6,203.0.113.7, 34.120.0.1"), PEER));
    assertEquals(key("203.0.113.7"), lb.key(List.of("203.0.113.7,34.120.0.1"), PEER));
  }

  @Test
  void fewerHopsThanTrustedOrNoHeaderOrNoProxyMeansThePeer() {
    ClientAddresses lb = new ClientAddresses(2);
    assertEquals(key("192.0.2.50"), lb.key(List.of("203.0.113.7"), PEER), "one hop: no load balancer wrote it");
    assertEquals(key("192.0.2.50"), CLOUD_RUN.key(List.of(), PEER));
    assertEquals(key("192.0.2.50"), CLOUD_RUN.key(List.of("  "), PEER));
    assertEquals(key("192.0.2.50"), new ClientAddresses(0).key(List.of("203.0.113.7"), PEER),
        "no proxy: the header is the client's text");
  }

  @Test
  void ipv6CountsByItsSlash64() {
    assertEquals(key("2001:db8:1:2::1"), CLOUD_RUN.key(List.of("2001:db8:1:2:ffff:ffff:ffff:ffff"), PEER));
    assertNotEquals(key("2001:db8:1:2::1"), CLOUD_RUN.key(List.of("2001:db8:1:3::1"), PEER));
    assertEquals(key("198.51.100.1"), CLOUD_RUN.key(List.of("::ffff:198.51.100.1"), PEER), "IPv4-mapped is IPv4");
    assertNotEquals(key("0.0.0.1"), key("::1"), "families never meet");
  }

  @Test
  void aHopThatIsNoIpLiteralIsUnreadableAndNeverLookedUp() {
    for (String garbage : List.of("localhost", "example.com", "203.0.113.7:443", "[2001:db8::1]", "unknown",
        "1.2.3", "256.1.1.1", "1.2.3.4.5", "", "2001:db8::1::2", "x".repeat(40))) {
      assertEquals(ClientAddresses.Key.UNREADABLE, CLOUD_RUN.key(List.of("203.0.113.7, " + garbage), PEER), garbage);
    }
    assertFalse(ClientAddresses.Key.UNREADABLE.readable());
    assertTrue(key("203.0.113.7").readable());
  }

  @Test
  void aVeryLongHeaderIsReadOnlyAtItsEnd() {
    String forged = "10.0.0.1,".repeat(100_000) + "203.0.113.7";
    assertEquals(key("203.0.113.7"), CLOUD_RUN.key(List.of(forged), PEER));
    assertEquals(key("10.0.0.1"), new ClientAddresses(2).key(List.of(forged), PEER));
    assertEquals(ClientAddresses.Key.UNREADABLE, CLOUD_RUN.key(List.of("1.1.1.1, " + "9".repeat(1_000_000)), PEER));
  }

  @Test
  void aPeerThatIsNoIpSocketIsUnreadable() {
    assertEquals(ClientAddresses.Key.UNREADABLE, ClientAddresses.peer(null));
    assertEquals(ClientAddresses.Key.UNREADABLE, ClientAddresses.peer(InetSocketAddress.createUnresolved("x", 1)));
  }

  @Test
  void hopsAreCountedFromTheRight() {
    assertEquals("c", ClientAddresses.hopFromRight("a, b, c", 1));
    assertEquals("b", ClientAddresses.hopFromRight("a, b, c", 2));
    assertEquals("a", ClientAddresses.hopFromRight("a, b, c", 3));
    assertEquals(null, ClientAddresses.hopFromRight("a, b, c", 4));
    assertEquals("", ClientAddresses.hopFromRight("a,,c", 2));
    assertThrows(IllegalArgumentException.class, () -> new ClientAddresses(-1));
  }
}
