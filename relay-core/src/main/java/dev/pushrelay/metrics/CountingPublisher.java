package dev.pushrelay.metrics;

import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/** Counts every publish, by topic and outcome, on its way to the real publisher. */
public final class CountingPublisher implements MessagePublisher {
  private final MessagePublisher delegate;
  private final RelayMetrics metrics;
  private final UnaryOperator<String> label;

  public CountingPublisher(MessagePublisher delegate, RelayMetrics metrics) {
    this(delegate, metrics, UnaryOperator.identity());
  }

  /** {@code label} names a topic in the metrics (the nodes' delivery topics share one label). */
  public CountingPublisher(MessagePublisher delegate, RelayMetrics metrics, UnaryOperator<String> label) {
    this.delegate = delegate;
    this.metrics = metrics;
    this.label = label;
  }

  @Override
  public CompletableFuture<String> publish(String topic, OutboundMessage message) {
    return delegate.publish(topic, message).whenComplete((id, error) -> metrics.published(label.apply(topic), error == null));
  }

  /**
   * Hands the whole list to the real publisher, which sends it in few calls: the default, one publish after
   * another, made a dead node's backlog wait a round trip a message. A list that fails counts each of its
   * messages as failed, also those of its calls that went through before: the caller sends it all again.
   */
  @Override
  public CompletableFuture<List<String>> publishAll(String topic, List<OutboundMessage> messages) {
    return delegate.publishAll(topic, messages).whenComplete((ids, error) -> {
      for (int i = 0; i < messages.size(); i++) {
        metrics.published(label.apply(topic), error == null);
      }
    });
  }

  @Override
  public void close() {
    delegate.close();
  }
}
