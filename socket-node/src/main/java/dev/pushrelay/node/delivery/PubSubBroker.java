package dev.pushrelay.node.delivery;

import com.google.api.core.ApiFuture;
import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.ApiException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.protobuf.Timestamp;
import com.google.pubsub.v1.AcknowledgeRequest;
import com.google.pubsub.v1.ExpirationPolicy;
import com.google.pubsub.v1.ModifyAckDeadlineRequest;
import com.google.pubsub.v1.ProjectName;
import com.google.pubsub.v1.PullRequest;
import com.google.pubsub.v1.PullResponse;
import com.google.pubsub.v1.SeekRequest;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.GcpClients;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The delivery channels on Pub/Sub (or its emulator), through one subscription admin client. */
public final class PubSubBroker implements DeliveryBroker {
  private static final Logger LOG = LoggerFactory.getLogger(PubSubBroker.class);

  private final GcpClients clients;
  private final SubscriptionAdminClient admin;

  public PubSubBroker(GcpClients clients) {
    this.clients = clients;
    this.admin = clients.subscriptionAdmin();
  }

  @Override
  public void open(String topic, String subscription, int ackDeadlineSeconds) {
    String topicName = clients.topic(topic).toString();
    try (TopicAdminClient topics = clients.topicAdmin()) {
      topics.createTopic(topicName);
    } catch (AlreadyExistsException e) {
      // a restart with the same node id reuses it
    }
    try {
      admin.createSubscription(Subscription.newBuilder()
          .setName(name(subscription))
          .setTopic(topicName)
          .setAckDeadlineSeconds(ackDeadlineSeconds)
          // one user's deliveries in the order Pub/Sub received them (they are keyed by user)
          .setEnableMessageOrdering(true)
          // never expires: only a sweep that proved it empty deletes it
          .setExpirationPolicy(ExpirationPolicy.getDefaultInstance())
          .build());
    } catch (AlreadyExistsException e) {
      // same
    }
  }

  @Override
  public void deleteTopic(String topic) {
    try (TopicAdminClient topics = clients.topicAdmin()) {
      topics.deleteTopic(clients.topic(topic));
    } catch (NotFoundException e) {
      // deleted already, by an earlier attempt
    }
  }

  @Override
  public List<String> subscriptions(String prefix) {
    List<String> found = new java.util.ArrayList<>();
    for (Subscription s : admin.listSubscriptions(ProjectName.of(clients.projectId())).iterateAll()) {
      String name = s.getName().substring(s.getName().lastIndexOf('/') + 1);
      if (name.startsWith(prefix)) {
        found.add(name);
      }
    }
    return found;
  }

  @Override
  public void deleteSubscription(String subscription) {
    try {
      admin.deleteSubscription(name(subscription));
    } catch (NotFoundException e) {
      // already gone
    }
  }

  @Override
  public CompletableFuture<List<Pulled>> pull(String subscription, int max) {
    ApiFuture<PullResponse> call = admin.pullCallable().futureCall(
        PullRequest.newBuilder().setSubscription(name(subscription)).setMaxMessages(max).build());
    CompletableFuture<List<Pulled>> pulled = completion(call, subscription, PubSubBroker::pulled);
    // cancelling the answer cancels the call: a stopping node does not wait out a long poll
    pulled.whenComplete((v, e) -> {
      if (pulled.isCancelled()) {
        call.cancel(true);
      }
    });
    return pulled;
  }

  @Override
  public List<Pulled> pullNow(String subscription, int max) {
    try {
      @SuppressWarnings("deprecation") // the sweep wants an answer now, not a waiting pull
      PullResponse response = admin.pull(PullRequest.newBuilder().setSubscription(name(subscription))
          .setMaxMessages(max).setReturnImmediately(true).build());
      return pulled(response);
    } catch (NotFoundException e) {
      throw new GoneException(subscription, e);
    }
  }

  @Override
  public CompletableFuture<Void> ack(String subscription, List<String> ackIds) {
    return completion(admin.acknowledgeCallable().futureCall(AcknowledgeRequest.newBuilder()
        .setSubscription(name(subscription)).addAllAckIds(ackIds).build()), subscription, e -> null);
  }

  @Override
  public CompletableFuture<Void> modifyDeadline(String subscription, List<String> ackIds, int seconds) {
    return completion(admin.modifyAckDeadlineCallable().futureCall(ModifyAckDeadlineRequest.newBuilder()
        .setSubscription(name(subscription)).addAllAckIds(ackIds).setAckDeadlineSeconds(seconds).build()),
        subscription, e -> null);
  }

  @Override
  public boolean seek(String subscription, Instant time) {
    try {
      admin.seek(SeekRequest.newBuilder().setSubscription(name(subscription))
          .setTime(Timestamp.newBuilder().setSeconds(time.getEpochSecond())).build());
      return true;
    } catch (NotFoundException e) {
      throw new GoneException(subscription, e);
    } catch (ApiException e) {
      LOG.info("seek on {} refused ({})", subscription, e.getStatusCode().getCode());
      return false;
    }
  }

  @Override
  public void close() {
    admin.close();
  }

  private String name(String subscription) {
    return clients.subscription(subscription).toString();
  }

  private static List<Pulled> pulled(PullResponse response) {
    return response.getReceivedMessagesList().stream().map(r -> new Pulled(r.getAckId(), r.getMessage())).toList();
  }

  /** The call's answer as a future; a subscription that does not exist fails it with {@link GoneException}. */
  private static <T, R> CompletableFuture<R> completion(ApiFuture<T> call, String subscription, Function<T, R> map) {
    CompletableFuture<R> f = new CompletableFuture<>();
    Completions.of(call).whenComplete((result, t) -> {
      if (t == null) {
        f.complete(map.apply(result));
      } else {
        boolean gone = Completions.causedBy(t, NotFoundException.class);
        f.completeExceptionally(gone ? new GoneException(subscription, t) : t);
      }
    });
    return f;
  }
}
