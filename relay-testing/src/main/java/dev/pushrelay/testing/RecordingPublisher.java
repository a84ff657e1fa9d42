package dev.pushrelay.testing;

import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** In-memory Pub/Sub seam for unit tests: records what is published, or fails every publish. */
public final class RecordingPublisher implements MessagePublisher {
  /** One publish: the topic and the message. */
  public record Published(String topic, OutboundMessage message) {}

  private final List<Published> published = new ArrayList<>();
  private final AtomicInteger ids = new AtomicInteger();
  private volatile RuntimeException failure;

  /** Every later publish fails with this error. */
  public void failWith(RuntimeException error) {
    this.failure = error;
  }

  @Override
  public synchronized CompletableFuture<String> publish(String topic, OutboundMessage message) {
    if (failure != null) {
      return CompletableFuture.failedFuture(failure);
    }
    published.add(new Published(topic, message));
    return CompletableFuture.completedFuture(Integer.toString(ids.incrementAndGet()));
  }

  public synchronized List<Published> published() {
    return List.copyOf(published);
  }

  /** What went to every topic whose name starts with {@code prefix} (the nodes' delivery topics). */
  public synchronized List<Published> onTopicsStartingWith(String prefix) {
    return published.stream().filter(p -> p.topic().startsWith(prefix)).toList();
  }

  public synchronized List<Published> on(String topic) {
    return published.stream().filter(p -> p.topic().equals(topic)).toList();
  }
}
