package dev.pushrelay.gcp;

import com.google.cloud.pubsub.v1.Publisher;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PublishRequest;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Publishes through one long-lived Google {@link Publisher} per fixed topic (batching, its own
 * threads), and to short-lived topics (one per node incarnation) with plain publish calls on one
 * shared admin client, so a fleet of nodes costs a function no thread or channel per node. A message
 * with an ordering key goes the plain way too: one message per call keeps its key's order with no
 * client-side sequencing.
 */
public final class PubSubMessagePublisher implements MessagePublisher {
  private final GcpClients clients;
  private final Predicate<String> shortLived;
  private final Map<String, Publisher> publishers = new ConcurrentHashMap<>();
  private volatile TopicAdminClient unary;

  /** Messages in one publish call of {@link #publishAll} (Pub/Sub takes up to 1,000). */
  static final int MAX_PER_CALL = 100;
  /** Bytes in one such call, below Pub/Sub's 10 MB a request; a single larger message still goes alone. */
  static final long MAX_BYTES_PER_CALL = 9L * 1024 * 1024;

  /** Every topic is long-lived. */
  public PubSubMessagePublisher(GcpClients clients) {
    this(clients, topic -> false);
  }

  /** {@code shortLived} names the topics that come and go (the nodes' delivery topics). */
  public PubSubMessagePublisher(GcpClients clients, Predicate<String> shortLived) {
    this.clients = clients;
    this.shortLived = shortLived;
  }

  @Override
  public CompletableFuture<String> publish(String topic, OutboundMessage message) {
    PubsubMessage m = pubsub(message);
    if (shortLived.test(topic) || !message.orderingKey().isEmpty()) {
      // one message per request: an ordering key needs no client-side sequencing this way
      PublishRequest request = PublishRequest.newBuilder().setTopic(clients.topic(topic).toString())
          .addMessages(m).build();
      return Completions.of(unary().publishCallable().futureCall(request)).thenApply(r -> r.getMessageIds(0));
    }
    Publisher publisher = publishers.computeIfAbsent(topic, clients::publisher);
    return Completions.of(publisher.publish(m));
  }

  /** The Pub/Sub message of {@code message}: its data, attributes and ordering key (empty: none). */
  private static PubsubMessage pubsub(OutboundMessage message) {
    return PubsubMessage.newBuilder().setData(ByteString.copyFromUtf8(message.data()))
        .putAllAttributes(message.attributes()).setOrderingKey(message.orderingKey()).build();
  }

  /**
   * One publish call for all of them (Pub/Sub keeps the order within a call), in calls of at most
   * {@link #MAX_PER_CALL} messages and {@link #MAX_BYTES_PER_CALL} sent one after another.
   */
  @Override
  public CompletableFuture<java.util.List<String>> publishAll(String topic, java.util.List<OutboundMessage> messages) {
    java.util.List<String> ids = new java.util.ArrayList<>();
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    PublishRequest.Builder call = null;
    long bytes = 0;
    for (OutboundMessage message : messages) {
      PubsubMessage m = pubsub(message);
      boolean full = call != null
          && (call.getMessagesCount() == MAX_PER_CALL || bytes + m.getSerializedSize() > MAX_BYTES_PER_CALL);
      if (full) {
        chain = send(chain, call.build(), ids);
        call = null;
      }
      if (call == null) {
        call = PublishRequest.newBuilder().setTopic(clients.topic(topic).toString());
        bytes = 0;
      }
      call.addMessages(m);
      bytes += m.getSerializedSize();
    }
    if (call != null) {
      chain = send(chain, call.build(), ids);
    }
    return chain.thenApply(v -> ids);
  }

  /** {@code request} once {@code after} is done; its ids go to {@code ids}. */
  private CompletableFuture<Void> send(CompletableFuture<Void> after, PublishRequest request,
      java.util.List<String> ids) {
    return after.thenCompose(v -> Completions.of(unary().publishCallable().futureCall(request)))
        .thenAccept(r -> ids.addAll(r.getMessageIdsList()));
  }

  private TopicAdminClient unary() {
    TopicAdminClient c = unary;
    if (c == null) {
      synchronized (this) {
        if (unary == null) {
          unary = clients.topicAdmin();
        }
        c = unary;
      }
    }
    return c;
  }

  @Override
  public void close() {
    for (Publisher p : publishers.values()) {
      p.shutdown();
    }
    for (Publisher p : publishers.values()) {
      try {
        p.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    TopicAdminClient c = unary;
    if (c != null) {
      c.close();
    }
  }
}
