package dev.pushrelay.e2e;

import com.google.cloud.firestore.DocumentSnapshot;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.FirestoreMailbox;
import dev.pushrelay.gcp.FirestoreRegistryStore;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/** Looks inside a running local stack through its emulators: dead letters and mailbox entries. */
final class StackProbe implements AutoCloseable {
  private final GcpClients clients;
  private final CollectingSubscription deadLetters;

  StackProbe(LocalStack stack) {
    clients = new GcpClients(GcpEndpoints.emulators("relay-local", "127.0.0.1:" + stack.port("PUBSUB_PORT"),
        "127.0.0.1:" + stack.port("FIRESTORE_PORT")));
    deadLetters = CollectingSubscription.existing(clients, Topology.standard().deadLetterHoldSubscription());
  }

  GcpClients clients() {
    return clients;
  }

  /** user/id of every dead letter seen so far. */
  Set<String> deadLettered() {
    return deadLetters.received().stream()
        .map(m -> m.getAttributesOrDefault(MessageAttributes.USER_ID, "") + "/"
            + m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, ""))
        .collect(Collectors.toSet());
  }

  /** Every dead letter seen so far. */
  java.util.List<PubsubMessage> deadLetters() {
    return deadLetters.received();
  }

  /**
   * The node a connection is registered under, if that node's lease is live now: what a route would
   * find for it. Empty when the registry does not list the connection, or lists it under a lapsed node.
   */
  java.util.Optional<String> liveRegistration(String connectionId) throws Exception {
    DocumentSnapshot c = clients.firestore().collection(FirestoreRegistryStore.CONNECTIONS).document(connectionId)
        .get().get(5, TimeUnit.SECONDS);
    String node = c.exists() ? c.getString("nodeId") : null;
    if (node == null) {
      return java.util.Optional.empty();
    }
    DocumentSnapshot n = clients.firestore().collection(FirestoreRegistryStore.NODES).document(node).get()
        .get(5, TimeUnit.SECONDS);
    com.google.cloud.Timestamp expires = n.exists() ? n.getTimestamp("expiresAt") : null;
    return expires != null && dev.pushrelay.gcp.Timestamps.instant(expires).isAfter(java.time.Instant.now())
        ? java.util.Optional.of(node) : java.util.Optional.empty();
  }

  /** The names of every topic and subscription on the emulator that belongs to a node's deliveries. */
  java.util.List<String> deliveryChannels() {
    java.util.List<String> names = new java.util.ArrayList<>();
    String prefix = Topology.standard().deliveriesTopicPrefix();
    try (var topics = clients.topicAdmin(); var subscriptions = clients.subscriptionAdmin()) {
      topics.listTopics("projects/relay-local").iterateAll().forEach(t -> {
        if (t.getName().substring(t.getName().lastIndexOf('/') + 1).startsWith(prefix)) {
          names.add(t.getName());
        }
      });
      subscriptions.listSubscriptions("projects/relay-local").iterateAll().forEach(sub -> {
        if (sub.getName().substring(sub.getName().lastIndexOf('/') + 1)
            .startsWith(Topology.standard().deliveriesSubscriptionPrefix())) {
          names.add(sub.getName());
        }
      });
    }
    return names;
  }

  /**
   * Waits until the topic and the subscription of {@code nodeId} are gone (its drain or another node's
   * cleanup deleted them); fails with what is left after {@code timeout}.
   */
  void awaitChannelsGone(String nodeId, Duration timeout) throws Exception {
    AtomicReference<java.util.List<String>> left = new AtomicReference<>(java.util.List.of());
    Await.until("the channels of " + nodeId + " gone", timeout, () -> {
      left.set(deliveryChannels().stream().filter(n -> n.endsWith("/relay-deliveries-" + nodeId)).toList());
      return left.get().isEmpty();
    }, () -> "left behind: " + left.get());
  }

  PubsubMessage awaitDeadLetter(String messageId, Duration timeout) throws Exception {
    return deadLetters.await(m -> messageId.equals(m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, "")), timeout);
  }

  boolean parked(String userId, String messageId) throws Exception {
    DocumentSnapshot doc = clients.firestore().collection(FirestoreMailbox.MAILBOXES).document(userId)
        .collection(FirestoreMailbox.PENDING).document(messageId).get().get(5, TimeUnit.SECONDS);
    return doc.exists();
  }

  /** The mailbox state of a message and who claimed it when, for failure messages. */
  String mailboxState(String userId, String messageId) {
    try {
      DocumentSnapshot doc = clients.firestore().collection(FirestoreMailbox.MAILBOXES).document(userId)
          .collection(FirestoreMailbox.PENDING).document(messageId).get().get(5, TimeUnit.SECONDS);
      if (!doc.exists()) {
        return "no entry";
      }
      String claim = doc.getString("claimedBy") == null ? ""
          : " (claimed by " + doc.getString("claimedBy") + " at " + doc.getTimestamp("claimedAt") + ")";
      return doc.getString("state") + " after " + doc.getLong("attempts") + " attempts" + claim;
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  void awaitParked(String userId, String messageId, boolean expected, Duration timeout) throws Exception {
    Await.until("mailbox entry " + userId + "/" + messageId + " " + (expected ? "present" : "absent"), timeout,
        () -> Unchecked.get(() -> parked(userId, messageId)) == expected);
  }

  @Override
  public void close() {
    deadLetters.close();
    clients.close();
  }
}
