package dev.pushrelay.node.delivery;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.cloud.pubsub.v1.MessageReceiver;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.ConnectionHub;
import dev.pushrelay.node.ws.DeliveryOutcome;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes deliveries from this node's subscription: writes them to the user's sockets and acks once
 * written; a delivery whose user holds no socket here goes back to {@code relay-requests}, and is
 * acked only once that publish succeeded. Deliveries for other nodes are acked away (the emulator
 * ignores subscription filters).
 */
public final class DeliveryReceiver implements MessageReceiver {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryReceiver.class);

  private final String nodeId;
  private final ConnectionHub hub;
  private final Rerouter rerouter;

  public DeliveryReceiver(String nodeId, ConnectionHub hub, Rerouter rerouter) {
    this.nodeId = nodeId;
    this.hub = hub;
    this.rerouter = rerouter;
  }

  @Override
  public void receiveMessage(PubsubMessage message, AckReplyConsumer reply) {
    if (!nodeId.equals(message.getAttributesOrDefault(MessageAttributes.NODE_ID, ""))) {
      reply.ack();
      return;
    }
    RelayMessage relayMessage;
    try {
      relayMessage = RelayMessage.parse(message.getData().toByteArray());
    } catch (InvalidRequestException e) {
      // The route function only publishes valid messages: this is a bug or a foreign publisher.
      LOG.error("delivery {} is not a relay message ({}: {}); dropping it", message.getMessageId(), e.field(),
          e.getMessage());
      reply.ack();
      return;
    }
    handle(relayMessage).whenComplete((outcome, error) -> {
      if (error != null) {
        LOG.warn("delivery of message {} failed, Pub/Sub will redeliver it: {}", relayMessage.id(), error.toString());
        reply.nack();
      } else {
        reply.ack();
      }
    });
  }

  CompletableFuture<DeliveryOutcome> handle(RelayMessage m) {
    return hub.deliver(m).thenCompose(outcome -> {
      if (outcome != DeliveryOutcome.NO_SOCKET) {
        return CompletableFuture.completedFuture(outcome);
      }
      return rerouter.reroute(m, nodeId).thenApply(v -> DeliveryOutcome.NO_SOCKET);
    });
  }
}
