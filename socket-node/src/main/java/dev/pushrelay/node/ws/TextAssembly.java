package dev.pushrelay.node.ws;

import java.util.Optional;

/**
 * A socket's text message put back together from its fragments, so that each fragment can be counted
 * against the socket's inbound rate limit as it comes (Jetty's whole-message callback would count a
 * message of thousands of frames once). At most {@code maxBytes} of UTF-8 in all, as Jetty's own limit
 * was; holds nothing between messages. Jetty hands one socket's frames over one at a time.
 */
final class TextAssembly {
  /** A message past the bound: what came of it is dropped, and so are its fragments still to come. */
  static final class TooBigException extends Exception {
    TooBigException(int maxBytes) {
      super("text message over " + maxBytes + " bytes");
    }
  }

  private final int maxBytes;
  /** The fragments so far; null between messages. */
  private StringBuilder text;
  private int bytes;
  private boolean discarding;

  TextAssembly(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /**
   * Adds a fragment of {@code fragmentBytes} bytes: the whole message once {@code last}, else empty. A
   * message that is not fragmented is returned as it is, with nothing copied.
   */
  Optional<String> add(String fragment, int fragmentBytes, boolean last) throws TooBigException {
    if (discarding) {
      discarding = !last;
      return Optional.empty();
    }
    if (text == null && last) {
      return Optional.of(fragment);
    }
    bytes += fragmentBytes;
    if (bytes > maxBytes) {
      text = null;
      bytes = 0;
      discarding = !last;
      throw new TooBigException(maxBytes);
    }
    if (text == null) {
      text = new StringBuilder(fragment);
    } else {
      text.append(fragment);
    }
    if (!last) {
      return Optional.empty();
    }
    String whole = text.toString();
    text = null;
    bytes = 0;
    return Optional.of(whole);
  }
}
