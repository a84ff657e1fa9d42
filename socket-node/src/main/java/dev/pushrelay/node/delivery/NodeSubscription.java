package dev.pushrelay.node.delivery;

import com.google.cloud.pubsub.v1.MessageReceiver;
import java.util.concurrent.TimeUnit;

/** The pulls on one node incarnation's delivery subscription (see {@link DeliveryChannels}). */
public final class NodeSubscription {
  /**
   * Long-polling pulls kept open at once: one, so the user's deliveries are handed to the sockets in
   * the order the ordered subscription returns them (two pulls' answers could be handled crosswise).
   */
  private static final int PULLERS = 1;
  private final DeliveryBroker broker;
  private final String name;
  private final int ackDeadlineSeconds;
  private PullLoop pulls;

  NodeSubscription(DeliveryBroker broker, String name, int ackDeadlineSeconds) {
    this.broker = broker;
    this.name = name;
    this.ackDeadlineSeconds = ackDeadlineSeconds;
  }

  public String name() {
    return name;
  }

  /** Starts pulling; {@code gone} runs once if the subscription turns out to have been deleted. */
  public void start(MessageReceiver receiver, Runnable gone) {
    pulls = new PullLoop(broker, name, receiver, PULLERS, ackDeadlineSeconds, gone, System::nanoTime);
    pulls.start();
  }

  public boolean pulling() {
    return pulls != null && pulls.pulling();
  }

  /** See {@link PullLoop#awaitQuiet}. */
  public boolean awaitQuiet(java.time.Duration quiet, java.time.Instant deadline) throws InterruptedException {
    return pulls != null && pulls.awaitQuiet(quiet, deadline);
  }

  public void stop(long timeout, TimeUnit unit) {
    if (pulls != null) {
      pulls.stop(timeout, unit);
    }
  }
}
