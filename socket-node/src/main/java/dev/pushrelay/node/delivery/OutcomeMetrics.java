package dev.pushrelay.node.delivery;

import dev.pushrelay.metrics.DeliveryResult;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.ws.SocketOutcome;
import java.time.Duration;

/** What a settled delivery adds to the metrics, on the live path and the mailbox path alike. */
final class OutcomeMetrics {
  private OutcomeMetrics() {}

  /** {@code latency}: from {@code sentAt} to settled; {@code path}: {@link RelayMetrics#PATH_LIVE} or mailbox. */
  static void record(RelayMetrics metrics, SocketOutcome outcome, Duration latency, String path) {
    if (outcome == SocketOutcome.DELIVERED) {
      metrics.delivery(DeliveryResult.DELIVERED);
      metrics.deliveryLatency(latency, path);
    } else if (outcome == SocketOutcome.DUPLICATE_SUPPRESSED) {
      metrics.delivery(DeliveryResult.DUPLICATE_SUPPRESSED);
    }
  }
}
