package dev.pushrelay.node.ws;

/**
 * What a socket's logic ({@link Connection}) needs of the WebSocket under it; {@link JettySocket} is
 * Jetty's. Its {@code sendText} writes one text frame. Nothing of Jetty's {@code Session} or {@code Callback} reaches the socket's logic.
 */
interface SocketTransport extends OutboundQueue.Sink {
  /**
   * Pings the client if it was heard from within {@code deadAfterNanos} before {@code now}; otherwise cuts
   * the connection (a silent peer cannot close cleanly) and answers false.
   */
  boolean ping(long now, long deadAfterNanos);

  /** Sends a close frame. */
  void close(SocketClose close);

  /** Cuts the connection without a close handshake. */
  void disconnect();

  /** Counts a frame that arrived at {@code at} against the inbound rate limit, at {@code cost} tokens. */
  InboundRateLimit.Verdict admit(long at, int cost);

  /** Gives a token back: the frame was one the client owed (an ack). */
  void refund();
}
