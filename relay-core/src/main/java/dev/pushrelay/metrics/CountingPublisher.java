package dev.pushrelay.metrics;

import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import java.util.concurrent.CompletableFuture;

/** Counts every publish, by topic and outcome, on its way to the real publisher. */
public final class CountingPublisher implements MessagePublisher {
  private final MessagePublisher delegate;
  private final RelayMetrics metrics;

  public CountingPublisher(MessagePublisher delegate, RelayMetrics metrics) {
    this.delegate = delegate;
    this.metrics = metrics;
  }

  @Override
  public CompletableFuture<String> publish(String topic, OutboundMessage message) {
    return delegate.publish(topic, message).whenComplete((id, error) -> metrics.published(topic, error == null));
  }

  @Override
  public void close() {
    delegate.close();
  }
}
