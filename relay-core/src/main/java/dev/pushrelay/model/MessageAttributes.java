package dev.pushrelay.model;

/** Pub/Sub attribute names the parts agree on. */
public final class MessageAttributes {
  public static final String MESSAGE_ID = "message_id";
  public static final String USER_ID = "user_id";
  public static final String NODE_ID = "node_id";
  /** On the upstream topic: {@code message}, {@code connected} or {@code disconnected}. */
  public static final String TYPE = "type";
  public static final String CONNECTION_ID = "connection_id";
  /** On the upstream topic: the event of a client's publish. */
  public static final String EVENT = "event";
  /** Why a message was dead-lettered, see {@link DeadLetterReason}. */
  public static final String REASON = "reason";
  /** Short human detail next to the reason; never payload content. */
  public static final String DETAIL = "detail";
  /** On a request an operator replayed from the dead letters: the reason it had been dead-lettered for. */
  public static final String REPLAYED_REASON = "replayed_reason";
  /** Set on a request that a node sent back because the user's socket was gone. */
  public static final String REROUTED_FROM = "rerouted_from";
  /**
   * Set on a request whose user held no live socket a moment before (the send function's lookup, or
   * a node whose socket closed): the route function parks it without looking up the registry.
   */
  public static final String NO_LIVE_NODE = "no_live_node";
  /**
   * Set with {@link #NO_LIVE_NODE} when its sender parked it in the mailbox already: the route
   * function's first attempt then has nothing to do but wait for the retry.
   */
  public static final String PARKED = "parked";

  /**
   * How many times nodes have sent this message back because its socket closed before the client
   * acked it; carried on the deliveries the route function makes from such a request. Past
   * {@link #MAX_REROUTES} it is no longer routed live, only delivered from the mailbox at the user's
   * next connect or dead-lettered at the end of its retries: a client that never acks cannot keep it
   * circulating.
   */
  public static final String REROUTES = "reroutes";
  public static final int MAX_REROUTES = 3;

  /**
   * Set on a control delivery, one that carries no message but an order for the node whose topic it is
   * on; its value says which ({@link #CONTROL_DISCONNECT}). Whatever reads deliveries as messages skips
   * it: a control delivery is never routed again, parked or dead-lettered.
   */
  public static final String CONTROL = "relay_control";
  /** Close every socket of the delivery's {@link #USER_ID} on the node with 4001. */
  public static final String CONTROL_DISCONNECT = "disconnect";
  /**
   * The attributes that carry where a message has been on its way through the relay (which node sent it
   * back, whether a socket was missing, whether it is parked, how often it went round). They belong to
   * one trip: a dead letter replayed is a new request and starts without them, so that, for instance, a
   * message that went round {@link #MAX_REROUTES} times reaches the socket its user holds now.
   */
  public static final java.util.Set<String> ROUTING_STATE = java.util.Set.of(NODE_ID, REROUTED_FROM, NO_LIVE_NODE,
      PARKED, REROUTES);

  /** The {@link #REROUTES} count of a message's attributes, 0 when absent or not a number. */
  public static int reroutes(java.util.Map<String, String> attributes) {
    try {
      return Math.max(0, Integer.parseInt(attributes.getOrDefault(REROUTES, "0")));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private MessageAttributes() {}
}
