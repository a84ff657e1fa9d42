package dev.pushrelay.ops;

import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.PullRequest;
import com.google.pubsub.v1.PullResponse;
import com.google.pubsub.v1.ReceivedMessage;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.topology.Topology;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The dead letters kept by the subscription {@code relay-dead-letter-hold}: look at them without
 * consuming them, send them back to {@code relay-requests}, or drop them. Works the same against the
 * emulator and against Pub/Sub. Every operation pulls what is there (up to a limit), leases it while
 * it works, acknowledges what it replayed or purged, and hands every other message straight back.
 */
public final class DeadLetterQueue {
  /** Attribute set on a replayed request: the reason it had been dead-lettered for. */
  public static final String REPLAYED = MessageAttributes.REPLAYED_REASON;
  private static final int BATCH = 500;
  /** Pub/Sub may answer an immediate pull with nothing while it still holds messages: ask a few times. */
  private static final int EMPTY_PULLS_TO_STOP = 3;

  private final GcpClients clients;
  private final Topology topology;
  private final MessagePublisher publisher;

  public DeadLetterQueue(GcpClients clients, Topology topology, MessagePublisher publisher) {
    this.clients = clients;
    this.topology = topology;
    this.publisher = publisher;
  }

  /** The selected dead letters, oldest first; all stay in the subscription. */
  public List<DeadLetter> list(DeadLetterSelection selection, int limit) {
    return withLeased(limit, selection, selected -> List.of()).selected();
  }

  /**
   * Publishes the selected dead letters to {@code relay-requests} as they were (same data, same
   * message id, without the dead-letter attributes) and removes them from the subscription once
   * Pub/Sub accepted the copy.
   */
  public List<DeadLetter> replay(DeadLetterSelection selection, int limit) {
    return withLeased(limit, selection, selected -> {
      List<CompletableFuture<String>> published = new ArrayList<>();
      for (DeadLetter d : selected) {
        published.add(publisher.publish(topology.requestsTopic(), new OutboundMessage(d.data(), replayAttributes(d))));
      }
      List<DeadLetter> done = new ArrayList<>();
      for (int i = 0; i < selected.size(); i++) {
        try {
          published.get(i).get(30, TimeUnit.SECONDS);
          done.add(selected.get(i));
        } catch (Exception e) {
          // not acknowledged: it stays a dead letter and a later replay can take it again
        }
      }
      return done;
    }).acknowledged();
  }

  /** Acknowledges the selected dead letters: they are gone for good. */
  public List<DeadLetter> purge(DeadLetterSelection selection, int limit) {
    return withLeased(limit, selection, selected -> selected).acknowledged();
  }

  /**
   * The attributes a replayed dead letter is published with: its own (the message id, the trace context,
   * a sender's), without the dead letter's reason, Pub/Sub's dead-letter attributes and the relay's
   * routing state of the trip that ended there ({@link MessageAttributes#ROUTING_STATE}), and with
   * {@link #REPLAYED}.
   */
  static Map<String, String> replayAttributes(DeadLetter d) {
    Map<String, String> attributes = new HashMap<>();
    d.attributes().forEach((k, v) -> {
      if (!k.startsWith(DeadLetter.PUBSUB_DEAD_LETTER_PREFIX) && !k.equals(MessageAttributes.REASON)
          && !k.equals(MessageAttributes.DETAIL) && !MessageAttributes.ROUTING_STATE.contains(k)) {
        attributes.put(k, v);
      }
    });
    attributes.put(MessageAttributes.MESSAGE_ID, d.messageId());
    attributes.put(REPLAYED, d.reason());
    return attributes;
  }

  /** What an operation does with the selected, leased dead letters: returns those to acknowledge. */
  private interface Action {
    List<DeadLetter> apply(List<DeadLetter> selected);
  }

  private record Outcome(List<DeadLetter> selected, List<DeadLetter> acknowledged) {}

  private Outcome withLeased(int limit, DeadLetterSelection selection, Action action) {
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      String subscription = clients.subscription(topology.deadLetterHoldSubscription()).toString();
      Map<String, DeadLetter> leased = pull(admin, subscription, limit);
      List<DeadLetter> selected = leased.values().stream().filter(selection::matches)
          .sorted(Comparator.comparing(DeadLetter::deadLetteredAt)).toList();
      List<DeadLetter> acknowledged = List.of();
      try {
        acknowledged = action.apply(selected);
        for (int from = 0; from < acknowledged.size(); from += BATCH) {
          admin.acknowledge(subscription, acknowledged.subList(from, Math.min(acknowledged.size(), from + BATCH))
              .stream().map(DeadLetter::ackId).toList());
        }
      } finally {
        Set<String> gone = new HashSet<>();
        acknowledged.forEach(d -> gone.add(d.ackId()));
        List<String> back = leased.values().stream().map(DeadLetter::ackId).filter(a -> !gone.contains(a)).toList();
        for (int from = 0; from < back.size(); from += BATCH) {
          // a zero deadline hands the message back at once, for the next look or a subscriber
          admin.modifyAckDeadline(subscription, back.subList(from, Math.min(back.size(), from + BATCH)), 0);
        }
      }
      return new Outcome(selected, acknowledged);
    }
  }

  @SuppressWarnings("deprecation") // returnImmediately: an operator wants what is there now, not to wait
  private static Map<String, DeadLetter> pull(SubscriptionAdminClient admin, String subscription, int limit) {
    Map<String, DeadLetter> leased = new LinkedHashMap<>();
    int empty = 0;
    while (leased.size() < limit && empty < EMPTY_PULLS_TO_STOP) {
      PullResponse response = admin.pull(PullRequest.newBuilder().setSubscription(subscription)
          .setMaxMessages(Math.min(BATCH, limit - leased.size())).setReturnImmediately(true).build());
      if (response.getReceivedMessagesCount() == 0) {
        empty++;
        continue;
      }
      empty = 0;
      for (ReceivedMessage r : response.getReceivedMessagesList()) {
        var m = r.getMessage();
        Instant published = Instant.ofEpochSecond(m.getPublishTime().getSeconds(), m.getPublishTime().getNanos());
        leased.put(m.getMessageId(), DeadLetter.of(m.getMessageId(), r.getAckId(), published,
            m.getData().toStringUtf8(), m.getAttributesMap()));
      }
    }
    return leased;
  }
}
