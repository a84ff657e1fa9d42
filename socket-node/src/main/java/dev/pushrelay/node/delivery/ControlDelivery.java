package dev.pushrelay.node.delivery;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.SocketClose;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A delivery that orders the node to do something instead of carrying a message (the attribute
 * {@link MessageAttributes#CONTROL}): {@code disconnect} closes every socket of its user here with 4001.
 * It is done once and acked, never routed again: on a node that is gone (a sweep of its subscription) it
 * is dropped, since that node holds no socket any more.
 */
public final class ControlDelivery {
  /** The close code of a socket whose user was disconnected through the send API. */
  private static final Logger LOG = LoggerFactory.getLogger(ControlDelivery.class);

  private ControlDelivery() {}

  static boolean isControl(PubsubMessage delivery) {
    return delivery.getAttributesMap().containsKey(MessageAttributes.CONTROL);
  }

  /** Does what the control delivery says on this node's sockets; logs no user id. */
  static void apply(PubsubMessage delivery, ConnectionHub hub) {
    String order = delivery.getAttributesMap().get(MessageAttributes.CONTROL);
    String userId = delivery.getAttributesMap().get(MessageAttributes.USER_ID);
    if (!MessageAttributes.CONTROL_DISCONNECT.equals(order) || userId == null || userId.isEmpty()) {
      LOG.warn("control delivery {} is not one this node knows; dropping it", delivery.getMessageId());
      return;
    }
    int closed = hub.closeUser(userId, SocketClose.DISCONNECTED);
    LOG.info("disconnect order {} closed {} sockets", delivery.getMessageId(), closed);
  }
}
