package dev.pushrelay.pubsub;

import com.google.cloud.pubsub.v1.Publisher;
import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.Completions;
import dev.pushrelay.gcp.GcpClients;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Publishes through one long-lived Google {@link Publisher} per topic. */
public final class PubSubMessagePublisher implements MessagePublisher {
  private final GcpClients clients;
  private final Map<String, Publisher> publishers = new ConcurrentHashMap<>();

  public PubSubMessagePublisher(GcpClients clients) {
    this.clients = clients;
  }

  @Override
  public CompletableFuture<String> publish(String topic, OutboundMessage message) {
    Publisher publisher = publishers.computeIfAbsent(topic, clients::publisher);
    PubsubMessage m = PubsubMessage.newBuilder()
        .setData(ByteString.copyFromUtf8(message.data()))
        .putAllAttributes(message.attributes())
        .build();
    return Completions.of(publisher.publish(m));
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
  }
}
