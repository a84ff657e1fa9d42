package dev.pushrelay.ops;

import dev.pushrelay.model.MessageAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One message held by the dead-letter subscription.
 *
 * @param pubsubId the dead letter's own Pub/Sub message id
 * @param ackId the lease on it, valid while the tool holds it
 * @param messageId the relay message id (the {@code message_id} attribute), else {@code pubsubId}
 * @param reason the {@code reason} attribute; {@code delivery_failed} when Pub/Sub itself moved it
 *     there after the route function kept failing, {@code unknown} when neither says
 * @param deadLetteredAt when it was published to the dead-letter topic
 * @param data the message as it was, replayed untouched; never printed
 */
public record DeadLetter(
    String pubsubId, String ackId, String messageId, String userId, String reason, String detail,
    Instant deadLetteredAt, String data, Map<String, String> attributes) {

  /** Attributes Pub/Sub adds when it forwards a message to the dead-letter topic itself. */
  static final String PUBSUB_DEAD_LETTER_PREFIX = "CloudPubSubDeadLetter";
  static final String DELIVERY_FAILED = "delivery_failed";
  static final String UNKNOWN = "unknown";

  public DeadLetter {
    Objects.requireNonNull(pubsubId, "pubsubId");
    Objects.requireNonNull(ackId, "ackId");
    Objects.requireNonNull(deadLetteredAt, "deadLetteredAt");
    Objects.requireNonNull(data, "data");
    attributes = Map.copyOf(attributes);
  }

  static DeadLetter of(String pubsubId, String ackId, Instant publishTime, String data, Map<String, String> attributes) {
    String reason = attributes.get(MessageAttributes.REASON);
    if (reason == null) {
      reason = attributes.keySet().stream().anyMatch(k -> k.startsWith(PUBSUB_DEAD_LETTER_PREFIX))
          ? DELIVERY_FAILED : UNKNOWN;
    }
    return new DeadLetter(pubsubId, ackId, attributes.getOrDefault(MessageAttributes.MESSAGE_ID, pubsubId),
        attributes.getOrDefault(MessageAttributes.USER_ID, ""), reason,
        attributes.getOrDefault(MessageAttributes.DETAIL, ""), publishTime, data, attributes);
  }

  public Duration age(Instant now) {
    Duration d = Duration.between(deadLetteredAt, now);
    return d.isNegative() ? Duration.ZERO : d;
  }
}
