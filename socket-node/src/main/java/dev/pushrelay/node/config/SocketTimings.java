package dev.pushrelay.node.config;

import dev.pushrelay.mailbox.Mailbox;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Every timing of a socket's life on the node, in one place; the constructor refuses a set whose
 * parts contradict each other. The socket's limits (ping interval, open deadline) are in
 * {@link SocketLimits}; the node's lease, cleanup and drain are in the package doc of
 * {@code dev.pushrelay.node}.
 *
 * @param tick the one timer's period: every deadline of every socket is looked at this often, so each
 *     fires up to one tick late; shorter than the first catch-up retry and the settling window
 * @param registryDeadline each registry or mailbox call on the connect and close path gives up after this
 * @param catchUpRetries pauses between catch-up attempts; after the last one fails the socket is closed
 *     with 1011 (the client reconnects and its next socket catches up). A live socket's later looks that
 *     fail are tried again after the same pauses, then left to the route function's retries
 * @param secondLook the settling window: after its catch-up a socket holds what comes for it, looks at
 *     the mailbox again this long after, then writes the held messages in accept order. It covers a
 *     route that read the registry just before the socket was in it; live messages in a socket's first
 *     second wait for it
 * @param lateLook one more look this long after the catch-up, for what was parked while the registry
 *     did not list the socket yet (a Firestore outage just over); after the second look
 * @param unackedWindow a message the client has not acked this long is taken as delivered; one written
 *     this recently before a close is routed again. Shorter than the mailbox's claim timeout (30 s), so
 *     a live socket's claim is settled before it can expire
 * @param removalRetries pauses between attempts to remove a closed socket's registry entry
 * @param repairEvery a user's stale registry entries on this node are looked for at most this often
 * @param slowConsumerGrace a slow consumer gets this long to read up to its 1013 close frame, then it
 *     is disconnected
 * @param ackQuorum a routed message waits this long at most for one socket's ack before that socket
 *     leaves its user's ack quorum (see {@code WriteLedger}): Pub/Sub hands the user's next message only
 *     once this one is settled, so this bounds how long a socket that is behind holds back the user's
 *     other sockets. Above the tick (it is looked at once a tick), below the unacked window
 * @param oldestAge a socket is closed with 1012 at an age drawn between this and {@code newestAge}, after
 *     its queue is flushed, so that sockets opened together (after a deploy or a storm) do not all come
 *     back together when Cloud Run cuts the request at its timeout (60 minutes)
 * @param newestAge the latest age at which a socket is closed; below Cloud Run's request timeout
 */
public record SocketTimings(
    Duration tick,
    Duration registryDeadline,
    List<Duration> catchUpRetries,
    Duration secondLook,
    Duration lateLook,
    Duration unackedWindow,
    List<Duration> removalRetries,
    Duration repairEvery,
    Duration slowConsumerGrace,
    Duration ackQuorum,
    Duration oldestAge,
    Duration newestAge) {

  /** Cloud Run ends every request, a WebSocket included, at this timeout at the latest. */
  public static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(60);

  public static final SocketTimings DEFAULT = new SocketTimings(
      Duration.ofMillis(100),
      Duration.ofSeconds(5),
      List.of(Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2)),
      Duration.ofSeconds(1),
      Duration.ofSeconds(5),
      Duration.ofSeconds(10),
      List.of(Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofSeconds(30)),
      Duration.ofSeconds(5),
      Duration.ofSeconds(2),
      Duration.ofMillis(250),
      Duration.ofMinutes(45),
      Duration.ofMinutes(55));

  public SocketTimings {
    Objects.requireNonNull(tick, "tick");
    catchUpRetries = List.copyOf(catchUpRetries);
    removalRetries = List.copyOf(removalRetries);
    if (tick.isNegative() || tick.isZero()) {
      throw new IllegalArgumentException("the tick must be positive");
    }
    if (!catchUpRetries.isEmpty() && tick.compareTo(catchUpRetries.get(0)) > 0 || tick.compareTo(secondLook) > 0) {
      throw new IllegalArgumentException("the tick must be shorter than the first catch-up retry and the second look");
    }
    if (lateLook.compareTo(secondLook) <= 0) {
      throw new IllegalArgumentException("the late look comes after the second look");
    }
    if (unackedWindow.compareTo(Mailbox.CLAIM_TIMEOUT) >= 0) {
      throw new IllegalArgumentException("the unacked window must be shorter than the mailbox claim (30 s)");
    }
    if (ackQuorum.compareTo(tick) <= 0 || ackQuorum.compareTo(unackedWindow) >= 0) {
      throw new IllegalArgumentException("the ack quorum bound must be above the tick and below the unacked window");
    }
    if (oldestAge.compareTo(newestAge) > 0 || newestAge.compareTo(REQUEST_TIMEOUT) >= 0 || oldestAge.isNegative()) {
      throw new IllegalArgumentException("socket ages must be ordered and below Cloud Run's request timeout (60 min)");
    }
  }

  /** An age between the oldest and the newest a socket may reach, uniformly drawn. */
  public Duration drawAge() {
    long from = oldestAge.toMillis();
    return Duration.ofMillis(from + ThreadLocalRandom.current().nextLong(newestAge.toMillis() - from + 1));
  }
}
