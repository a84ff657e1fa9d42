package dev.pushrelay.node.delivery;

import com.google.api.core.ApiFuture;
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
import java.util.concurrent.TimeoutException;
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
  private static final int MAX_ROUNDS = 20;
  private static final Duration ROUND_WAIT = Duration.ofMillis(1000);

  private final GcpClients clients;
  private final Rerouter rerouter;

  public SubscriptionSweeper(GcpClients clients, Rerouter rerouter) {
    this.clients = clients;
    this.rerouter = rerouter;
  }

  /**
   * Re-routes what is left in the subscription; returns how many deliveries were re-routed.
   *
   * <p>Each round keeps a pull waiting, then seeks the subscription back an hour: that makes every
   * unacked message deliverable again at once, including those leased to a streaming pull that died
   * (which would otherwise wait out their lease, and which the emulator may hand to that dead stream
   * again). Rounds go on until two in a row find nothing.
   */
  public int sweep(String subscription, String nodeId) {
    return sweep(subscription, nodeId, Instant.EPOCH);
  }

  /**
   * As {@link #sweep(String, String)}, and not before {@code notBefore}: a draining node keeps sweeping
   * until every route that read the registry before it left has had time to publish.
   */
  public int sweep(String subscription, String nodeId, Instant notBefore) {
    int rerouted = 0;
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      String name = clients.subscription(subscription).toString();
      int empty = 0;
      for (int round = 0; round < MAX_ROUNDS && (empty < 2 || Instant.now().isBefore(notBefore)); round++) {
        ApiFuture<PullResponse> waiting = admin.pullCallable().futureCall(
            PullRequest.newBuilder().setSubscription(name).setMaxMessages(BATCH).build());
        Instant since = Instant.now().minus(Duration.ofHours(1));
        admin.seek(SeekRequest.newBuilder().setSubscription(name)
            .setTime(Timestamp.newBuilder().setSeconds(since.getEpochSecond())).build());
        PullResponse pulled;
        try {
          pulled = waiting.get(ROUND_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException nothingCame) {
          waiting.cancel(true);
          pulled = PullResponse.getDefaultInstance();
        }
        if (pulled.getReceivedMessagesCount() == 0) {
          empty++;
          continue;
        }
        empty = 0;
        rerouted += reroute(admin, name, nodeId, pulled);
      }
      return rerouted;
    } catch (NotFoundException e) {
      return rerouted;
    } catch (Exception e) {
      throw new IllegalStateException("sweeping " + subscription + " failed after " + rerouted + " re-routes", e);
    }
  }

  private int reroute(SubscriptionAdminClient admin, String name, String nodeId, PullResponse pulled)
      throws Exception {
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
        LOG.error("delivery {} in {} is not a relay message; dropping it", r.getMessage().getMessageId(), name);
      }
    }
    CompletableFuture.allOf(republished.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    admin.acknowledge(name, ackIds);
    return republished.size();
  }
}
