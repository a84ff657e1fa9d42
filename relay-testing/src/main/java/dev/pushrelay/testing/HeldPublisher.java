package dev.pushrelay.testing;

import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A publisher that records every message and completes its publishes at once, or, after {@link #hold},
 * only when {@link #release} or {@link #fail} says so: a test sees what is published before Pub/Sub
 * has answered, and in what order.
 */
public final class HeldPublisher implements MessagePublisher {
  private final List<OutboundMessage> published = new ArrayList<>();
  private final List<CompletableFuture<String>> waiting = new ArrayList<>();
  private boolean holding;
  private int ids;

  @Override
  public synchronized CompletableFuture<String> publish(String topic, OutboundMessage message) {
    published.add(message);
    CompletableFuture<String> f = new CompletableFuture<>();
    if (holding) {
      waiting.add(f);
    } else {
      f.complete(Integer.toString(++ids));
    }
    return f;
  }

  /** Publishes from now on wait for {@link #release} or {@link #fail}. */
  public synchronized void hold() {
    holding = true;
  }

  /** Completes every waiting publish, and the later ones at once. */
  public void release() {
    for (CompletableFuture<String> f : drain(false)) {
      f.complete("released");
    }
  }

  /** Fails every waiting publish; later ones keep waiting. */
  public void fail(RuntimeException error) {
    for (CompletableFuture<String> f : drain(true)) {
      f.completeExceptionally(error);
    }
  }

  private synchronized List<CompletableFuture<String>> drain(boolean keepHolding) {
    holding = keepHolding;
    List<CompletableFuture<String>> out = new ArrayList<>(waiting);
    waiting.clear();
    return out;
  }

  public synchronized List<OutboundMessage> published() {
    return List.copyOf(published);
  }

  /** The {@code type} attribute of each message published (the upstream topic's kinds). */
  public synchronized List<String> types() {
    return published.stream().map(m -> m.attributes().get("type")).toList();
  }

  public synchronized int waiting() {
    return waiting.size();
  }
}
