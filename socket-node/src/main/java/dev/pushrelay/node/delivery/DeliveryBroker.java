package dev.pushrelay.node.delivery;

import com.google.pubsub.v1.PubsubMessage;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the node asks of Pub/Sub for its delivery channels, and all it asks: opening and retiring a
 * channel, pulling, acking, extending and dropping leases, seeking back. {@link PubSubBroker} is the
 * real one; the tests have one in memory. Names are short ({@code relay-deliveries-<id>}), not paths.
 * A subscription or topic that does not exist is reported as {@link GoneException}.
 */
public interface DeliveryBroker extends AutoCloseable {
  /** A message pulled, with the id its lease is acked or extended by. */
  record Pulled(String ackId, PubsubMessage message) {}

  /** The subscription (or topic) asked for does not exist. */
  final class GoneException extends RuntimeException {
    public GoneException(String name, Throwable cause) {
      super(name + " does not exist", cause);
    }
  }

  /** Creates the topic and its one subscription, ordered and never expiring; both kept when they exist. */
  void open(String topic, String subscription, int ackDeadlineSeconds);

  /** Deletes the topic; one already gone is fine. */
  void deleteTopic(String topic);

  /** The names of the project's subscriptions that start with {@code prefix}, whatever their topics. */
  List<String> subscriptions(String prefix);

  /** Deletes the subscription; one already gone is fine. */
  void deleteSubscription(String subscription);

  /** A waiting pull of up to {@code max} messages; cancelling it ends the wait. */
  CompletableFuture<List<Pulled>> pull(String subscription, int max);

  /** A pull answered at once, with what is there now. */
  List<Pulled> pullNow(String subscription, int max);

  CompletableFuture<Void> ack(String subscription, List<String> ackIds);

  /** Extends the leases by {@code seconds}; 0 gives the messages back at once (a nack). */
  CompletableFuture<Void> modifyDeadline(String subscription, List<String> ackIds, int seconds);

  /**
   * Makes what was published after {@code time} and not acked deliverable again, leased or not; false
   * when the service refused (the leases then run out at their deadline).
   */
  boolean seek(String subscription, Instant time);

  @Override
  void close();
}
