package dev.pushrelay.testing;

import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.PubsubMessage;
import com.google.pubsub.v1.PullRequest;
import com.google.pubsub.v1.PullResponse;
import com.google.pubsub.v1.ReceivedMessage;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.gcp.GcpClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Collects every message of a subscription for tests to wait on. It pulls on demand with plain
 * unary pulls and acks what it got: no streaming connection whose leases could outlive a test.
 */
public final class CollectingSubscription implements AutoCloseable {
  private final List<PubsubMessage> received = new ArrayList<>();
  private final SubscriptionAdminClient admin;
  private final String name;

  private CollectingSubscription(GcpClients clients, String subscription) {
    this.admin = clients.subscriptionAdmin();
    this.name = clients.subscription(subscription).toString();
  }

  /** Pulls from an existing subscription. */
  public static CollectingSubscription existing(GcpClients clients, String subscription) {
    return new CollectingSubscription(clients, subscription);
  }

  /** Creates a new subscription on the topic first, so it sees what is published from now on. */
  public static CollectingSubscription onTopic(GcpClients clients, String topic, String subscription) {
    try (SubscriptionAdminClient create = clients.subscriptionAdmin()) {
      create.createSubscription(Subscription.newBuilder()
          .setName(clients.subscription(subscription).toString())
          .setTopic(clients.topic(topic).toString())
          .setAckDeadlineSeconds(10)
          .build());
    }
    return new CollectingSubscription(clients, subscription);
  }

  public PubsubMessage await(Predicate<PubsubMessage> matches, Duration timeout)
      throws InterruptedException, TimeoutException {
    return Await.value("a matching message on " + name, timeout,
        () -> received().stream().filter(matches).findFirst());
  }

  /** Everything received so far, after pulling what is waiting now. */
  @SuppressWarnings("deprecation") // returnImmediately: take what is there now
  public synchronized List<PubsubMessage> received() {
    while (true) {
      PullResponse pulled = admin.pull(PullRequest.newBuilder().setSubscription(name).setMaxMessages(500)
          .setReturnImmediately(true).build());
      if (pulled.getReceivedMessagesCount() == 0) {
        return List.copyOf(received);
      }
      List<String> ackIds = new ArrayList<>();
      for (ReceivedMessage r : pulled.getReceivedMessagesList()) {
        received.add(r.getMessage());
        ackIds.add(r.getAckId());
      }
      admin.acknowledge(name, ackIds);
    }
  }

  @Override
  public void close() {
    admin.close();
  }
}
