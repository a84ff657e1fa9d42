package dev.pushrelay.testing;

import com.google.cloud.pubsub.v1.Subscriber;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.PubsubMessage;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.gcp.GcpClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/** Pulls every message of a subscription into memory and acks it, for tests to wait on. */
public final class CollectingSubscription implements AutoCloseable {
  private final List<PubsubMessage> received = new ArrayList<>();
  private final Subscriber subscriber;

  private CollectingSubscription(GcpClients clients, String subscription) {
    subscriber = clients.subscriber(subscription, (message, reply) -> {
      synchronized (received) {
        received.add(message);
        received.notifyAll();
      }
      reply.ack();
    }, 1, 10);
    subscriber.startAsync().awaitRunning();
  }

  /** Pulls from an existing subscription. */
  public static CollectingSubscription existing(GcpClients clients, String subscription) {
    return new CollectingSubscription(clients, subscription);
  }

  /** Creates a new subscription on the topic first, so it sees what is published from now on. */
  public static CollectingSubscription onTopic(GcpClients clients, String topic, String subscription) {
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.createSubscription(Subscription.newBuilder()
          .setName(clients.subscription(subscription).toString())
          .setTopic(clients.topic(topic).toString())
          .setAckDeadlineSeconds(10)
          .build());
    }
    return new CollectingSubscription(clients, subscription);
  }

  public PubsubMessage await(Predicate<PubsubMessage> matches, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (received) {
      while (true) {
        for (PubsubMessage m : received) {
          if (matches.test(m)) {
            return m;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("no matching message within " + timeout + " among " + received.size());
        }
        TimeUnit.NANOSECONDS.timedWait(received, left);
      }
    }
  }

  public List<PubsubMessage> received() {
    synchronized (received) {
      return List.copyOf(received);
    }
  }

  @Override
  public void close() {
    subscriber.stopAsync();
    try {
      subscriber.awaitTerminated(5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      // test teardown
    }
  }
}
