package dev.pushrelay.node.delivery;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.RelayMessage;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads a delivery off a node's subscription. */
final class Deliveries {
  private static final Logger LOG = LoggerFactory.getLogger(Deliveries.class);

  private Deliveries() {}

  /**
   * The relay message a delivery carries; empty when it is a control delivery ({@link ControlDelivery}), or
   * (logged, without its data) when it is not one: the relay only publishes valid messages, so that is a
   * bug or a foreign publisher, and it is dropped.
   */
  static Optional<RelayMessage> parse(PubsubMessage delivery, String subscription) {
    if (ControlDelivery.isControl(delivery)) {
      // an order for the node, not a message: never routed again (a sweep drops it, its node is gone)
      LOG.debug("delivery {} on {} is a control delivery, not a message", delivery.getMessageId(), subscription);
      return Optional.empty();
    }
    try {
      return Optional.of(RelayMessage.parse(delivery.getData().toByteArray()));
    } catch (InvalidRequestException e) {
      LOG.error("delivery {} on {} is not a relay message ({}: {}); dropping it", delivery.getMessageId(),
          subscription, e.field(), e.getMessage());
      return Optional.empty();
    }
  }
}
