package dev.pushrelay.node.delivery;

import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.PullRequest;
import com.google.pubsub.v1.PullResponse;
import com.google.pubsub.v1.ReceivedMessage;
import com.google.pubsub.v1.SeekRequest;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.model.InvalidRequestException;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties a node's delivery subscription before it is deleted: every delivery addressed to that
 * node goes back to {@code relay-requests} to be routed again, and is acked only once republished.
 * Used by a draining node on its own subscription and by a live node on a crashed node's.
 */
public final class SubscriptionSweeper {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionSweeper.class);
  private static final int BATCH = 500;

  private final GcpClients clients;
  private final Rerouter rerouter;

  public SubscriptionSweeper(GcpClients clients, Rerouter rerouter) {
    this.clients = clients;
    this.rerouter = rerouter;
  }

  /**
   * Re-routes what is left in the subscription; returns how many deliveries were re-routed. First
   * it seeks back an hour: that marks every unacked message deliverable again at once, including
   * those leased to a streaming pull that died and would otherwise wait out their lease.
   */
  @SuppressWarnings("deprecation") // returnImmediately: a sweep wants what is there now, not to wait
  public int sweep(String subscription, String nodeId) {
    int rerouted = 0;
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      String name = clients.subscription(subscription).toString();
      Instant since = Instant.now().minus(Duration.ofHours(1));
      admin.seek(SeekRequest.newBuilder().setSubscription(name)
          .setTime(Timestamp.newBuilder().setSeconds(since.getEpochSecond())).build());
      while (true) {
        PullResponse pulled = admin.pull(PullRequest.newBuilder().setSubscription(name).setMaxMessages(BATCH)
            .setReturnImmediately(true).build());
        if (pulled.getReceivedMessagesCount() == 0) {
          return rerouted;
        }
        List<String> ackIds = new ArrayList<>();
        List<CompletableFuture<Void>> republished = new ArrayList<>();
        for (ReceivedMessage r : pulled.getReceivedMessagesList()) {
          ackIds.add(r.getAckId());
          if (!nodeId.equals(r.getMessage().getAttributesOrDefault(MessageAttributes.NODE_ID, ""))) {
            continue; // the emulator ignores filters: another node's copy
          }
          try {
            RelayMessage m = RelayMessage.parse(r.getMessage().getData().toByteArray());
            republished.add(rerouter.reroute(m, nodeId));
          } catch (InvalidRequestException e) {
            LOG.error("delivery {} in {} is not a relay message; dropping it", r.getMessage().getMessageId(),
                subscription);
          }
        }
        CompletableFuture.allOf(republished.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        admin.acknowledge(name, ackIds);
        rerouted += republished.size();
      }
    } catch (NotFoundException e) {
      return rerouted;
    } catch (Exception e) {
      throw new IllegalStateException("sweeping " + subscription + " failed after " + rerouted + " re-routes", e);
    }
  }
}
