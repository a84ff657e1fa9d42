package dev.pushrelay.e2e;

import com.google.cloud.firestore.DocumentSnapshot;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.mailbox.FirestoreMailbox;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  PubsubMessage awaitDeadLetter(String messageId, Duration timeout) throws Exception {
    return deadLetters.await(m -> messageId.equals(m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, "")), timeout);
  }

  boolean parked(String userId, String messageId) throws Exception {
    DocumentSnapshot doc = clients.firestore().collection(FirestoreMailbox.MAILBOXES).document(userId)
        .collection(FirestoreMailbox.PENDING).document(messageId).get().get(5, TimeUnit.SECONDS);
    return doc.exists();
  }

  /** The mailbox state of a message, for failure messages. */
  String mailboxState(String userId, String messageId) {
    try {
      DocumentSnapshot doc = clients.firestore().collection(FirestoreMailbox.MAILBOXES).document(userId)
          .collection(FirestoreMailbox.PENDING).document(messageId).get().get(5, TimeUnit.SECONDS);
      return doc.exists() ? doc.getString("state") + " after " + doc.getLong("attempts") + " attempts" : "no entry";
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  void awaitParked(String userId, String messageId, boolean expected, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (parked(userId, messageId) != expected) {
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("mailbox entry " + userId + "/" + messageId + " never became "
            + (expected ? "present" : "absent"));
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  @Override
  public void close() {
    deadLetters.close();
    clients.close();
  }
}
