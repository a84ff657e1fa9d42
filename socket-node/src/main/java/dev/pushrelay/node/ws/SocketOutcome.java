package dev.pushrelay.node.ws;

/** What a socket, or all of its user's sockets on this node, made of a message handed to it. */
public enum SocketOutcome {
  /** Written to at least one socket of the user. */
  DELIVERED,
  /** Every socket of the user had it already. */
  DUPLICATE_SUPPRESSED,
  /** The user holds no socket here (closed, or the node is draining): route it again. */
  NO_SOCKET
}
