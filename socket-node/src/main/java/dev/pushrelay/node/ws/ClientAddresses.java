package dev.pushrelay.node.ws;

import com.google.common.net.InetAddresses;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Which client a handshake comes from, for the per-address handshake limit. Only hops that a proxy
 * of ours wrote are believed: {@code X-Forwarded-For} is read from the right, where each proxy appends
 * the address it saw, and the hop {@code trustedHops} from the end is the client (Cloud Run's front end
 * appends one hop: 1; behind a Google external Application Load Balancer, which appends
 * {@code <client>,<load balancer>}: 2). Whatever a client wrote to the left of that is ignored. With
 * {@code trustedHops} 0, or a header with fewer hops than that (then there was no such proxy, and the
 * header is the client's own), the socket's peer address counts.
 *
 * <p>An address is a {@link Key} of fixed size: an IPv4 address whole, an IPv6 address by its /64 (a
 * single subscriber usually holds a whole /64, so counting addresses within it would count nothing).
 * A trusted hop that is not an IP literal (never parsed with DNS) is {@link Key#UNREADABLE}: all such
 * handshakes share one bucket. A hop our own proxy wrote is always an address, so an unreadable one
 * means {@code trustedHops} is set too deep and the hop is a client's text; sharing a bucket keeps that
 * from opening a way around the limit (a client could otherwise write a new text each time), without
 * refusing every handshake of a node that is merely misconfigured.
 */
final class ClientAddresses {
  /** The longest text that can be an IP literal (an IPv6 address with an IPv4 tail and a zone), with room. */
  private static final int MAX_LITERAL = 64;

  /**
   * One client address as the limiter keeps it: 24 bytes on the heap whatever the header held.
   *
   * @param family 4, 6, or 0 for {@link #UNREADABLE}
   * @param bits the IPv4 address, or the first 64 bits of the IPv6 address
   */
  record Key(int family, long bits) {
    /** Every handshake whose trusted hop is not an IP address, and a peer that is no IP socket. */
    static final Key UNREADABLE = new Key(0, 0);

    static Key of(InetAddress address) {
      byte[] b = address.getAddress();
      if (address instanceof Inet4Address) {
        return new Key(4, Integer.toUnsignedLong(ByteBuffer.wrap(b).getInt()));
      }
      return new Key(6, ByteBuffer.wrap(b).getLong());
    }

    boolean readable() {
      return family != 0;
    }
  }

  private final int trustedHops;

  ClientAddresses(int trustedHops) {
    if (trustedHops < 0) {
      throw new IllegalArgumentException("trusted proxy hops must be 0 or more, was " + trustedHops);
    }
    this.trustedHops = trustedHops;
  }

  int trustedHops() {
    return trustedHops;
  }

  /**
   * The client's key: from {@code forwardedFor} (the {@code X-Forwarded-For} field values in the order
   * received, one list entry per header line; empty when there is none) or the peer address.
   */
  Key key(List<String> forwardedFor, SocketAddress peer) {
    String header = String.join(",", forwardedFor);
    if (trustedHops > 0 && !header.isBlank()) {
      String hop = hopFromRight(header, trustedHops);
      if (hop != null) {
        return parse(hop);
      }
    }
    return peer(peer);
  }

  /**
   * The hop {@code depth} from the right (1: the last), trimmed; null when the header has fewer hops.
   * Only the header's end is read, so its length does not matter.
   */
  static String hopFromRight(String header, int depth) {
    int end = header.length();
    for (int seen = 1; ; seen++) {
      int comma = header.lastIndexOf(',', end - 1);
      if (seen == depth) {
        return header.substring(comma + 1, end).trim();
      }
      if (comma < 0) {
        return null;
      }
      end = comma;
    }
  }

  /** An IP literal, or {@link Key#UNREADABLE}; a host name is never looked up. */
  static Key parse(String hop) {
    if (hop.isEmpty() || hop.length() > MAX_LITERAL || !InetAddresses.isInetAddress(hop)) {
      return Key.UNREADABLE;
    }
    return Key.of(InetAddresses.forString(hop));
  }

  static Key peer(SocketAddress peer) {
    if (peer instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return Key.of(inet.getAddress());
    }
    return Key.UNREADABLE;
  }
}
