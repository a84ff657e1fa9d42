package dev.pushrelay.node.ws;

/** What became of a message on this node. */
public enum DeliveryOutcome {
  /** Written to at least one socket of the user. */
  DELIVERED,
  /** Every socket of the user had it already. */
  DUPLICATE_SUPPRESSED,
  /** The user holds no socket here (closed, or the node is draining): route it again. */
  NO_SOCKET
}
