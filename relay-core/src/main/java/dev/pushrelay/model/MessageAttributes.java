package dev.pushrelay.model;

/** Pub/Sub attribute names the parts agree on. */
public final class MessageAttributes {
  public static final String MESSAGE_ID = "message_id";
  public static final String USER_ID = "user_id";
  public static final String NODE_ID = "node_id";
  /** Why a message was dead-lettered, see {@link DeadLetterReason}. */
  public static final String REASON = "reason";
  /** Short human detail next to the reason; never payload content. */
  public static final String DETAIL = "detail";
  /** Set on a request that a node sent back because the user's socket was gone. */
  public static final String REROUTED_FROM = "rerouted_from";
  /**
   * Set by the send function on a request whose user held no live socket a moment before: the route
   * function parks it without looking up the registry first (it still looks once after parking).
   */
  public static final String NO_LIVE_NODE = "no_live_node";

  private MessageAttributes() {}
}
