package dev.pushrelay.node.ws;

import org.eclipse.jetty.websocket.api.StatusCode;

/**
 * Every close the node sends a socket, with the code and reason its client sees. The codes follow RFC
 * 6455 (1003, 1008, 1009, 1011, 1012, 1013) and the relay's own range (4001); README's table of close
 * codes lists the same.
 */
public record SocketClose(int code, String reason) {
  /** A binary frame: the protocol is JSON text. */
  public static final SocketClose BINARY = new SocketClose(StatusCode.BAD_DATA,
      "binary frames are not supported; send JSON text frames");
  /** A text message over 64 KiB in all. */
  public static final SocketClose TOO_LARGE = new SocketClose(StatusCode.MESSAGE_TOO_LARGE, "text message too large");
  /** The token's {@code exp} passed without a renewal. */
  public static final SocketClose TOKEN_EXPIRED = new SocketClose(StatusCode.POLICY_VIOLATION, "token expired");
  /** Frames kept coming over the inbound rate limit. */
  /**
   * The user holds more sockets across the fleet than {@code RELAY_MAX_CONNECTIONS_PER_USER_FLEET}: the
   * client backs off, and gets in once one of them is gone.
   */
  public static final SocketClose TOO_MANY_SOCKETS = new SocketClose(StatusCode.TRY_AGAIN_LATER,
      "too many sockets for this user");
  public static final SocketClose RATE_LIMITED = new SocketClose(StatusCode.POLICY_VIOLATION, "rate limit exceeded");
  /** The registry write of the socket failed or passed its deadline. */
  public static final SocketClose REGISTRY_UNAVAILABLE = new SocketClose(StatusCode.SERVER_ERROR,
      "registry unavailable");
  /** Every try of the mailbox catch-up failed. */
  public static final SocketClose MAILBOX_UNAVAILABLE = new SocketClose(StatusCode.SERVER_ERROR,
      "mailbox unavailable, reconnect");
  /** The node's incarnation lost its lease (fenced): the client registers again, here or elsewhere. */
  public static final SocketClose LEASE_LOST = new SocketClose(StatusCode.SERVICE_RESTART,
      "node lost its lease, reconnect");
  /** The node drains (SIGTERM). */
  public static final SocketClose DRAINING = new SocketClose(StatusCode.SERVICE_RESTART, "node draining, reconnect");
  /** The node's revision was retired (a rollback). */
  public static final SocketClose RETIRED = new SocketClose(StatusCode.SERVICE_RESTART, "revision retired, reconnect");
  /** The socket reached the age drawn for it, below Cloud Run's request timeout. */
  public static final SocketClose AGE_LIMIT = new SocketClose(StatusCode.SERVICE_RESTART,
      "connection age limit, reconnect");
  /** The socket opened after its open deadline. */
  public static final SocketClose OPENED_TOO_LATE = new SocketClose(StatusCode.TRY_AGAIN_LATER,
      "handshake took too long, connect again");
  /** The client does not read its messages fast enough: its send queue is full. */
  public static final SocketClose TOO_SLOW = new SocketClose(StatusCode.TRY_AGAIN_LATER,
      "too slow, outbound queue full");
  /** The node passed its memory budget ({@link NodeMemory}), and this socket held the most of it. */
  public static final SocketClose SHED = new SocketClose(StatusCode.TRY_AGAIN_LATER,
      "node memory budget reached, reconnect later");
  /** {@code POST /v1/users/{userId}/disconnect}, or a revocation that covers the socket's token. */
  public static final SocketClose DISCONNECTED = new SocketClose(4001, "disconnected by server");
}
