package dev.pushrelay.node.upstream;

import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.pubsub.UpstreamMessages;
import dev.pushrelay.pubsub.UpstreamMessages.Socket;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of the upstream topic: a client's {@code publish} frames, answered {@code accepted}
 * only once Pub/Sub has taken them, and the {@code connected} and {@code disconnected} events of its
 * sockets (the cleanup of a crashed node sends the latter for that node's sockets, as
 * {@code node_lost}). A publish is tried once: a failure is the client's to retry, with the same id.
 * An event is retried until Pub/Sub takes it, for up to {@link #EVENT_PATIENCE}.
 */
public final class Upstream {
  private static final Logger LOG = LoggerFactory.getLogger(Upstream.class);
  /**
   * A publish not confirmed by then, counted from the frame's arrival (waiting on the lane included), is
   * answered unavailable; it may still go out, and a repeat of its id then shares its outcome.
   */
  static final Duration PUBLISH_DEADLINE = Duration.ofSeconds(10);
  private static final UpstreamAnswer UNAVAILABLE =
      UpstreamAnswer.refused("unavailable", "the relay could not take the message now; send it again");
  /** Pauses between the attempts of one connection event; the last one repeats. */
  static final List<Duration> EVENT_RETRIES = List.of(Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(30));
  /** A connection event Pub/Sub has not taken in this long is given up, with a warning. */
  static final Duration EVENT_PATIENCE = Duration.ofMinutes(10);

  private final MessagePublisher publisher;
  private final String topic;
  private final Clock clock;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;
  private final ScheduledExecutorService timers;
  private final Set<CompletableFuture<?>> outstanding = ConcurrentHashMap.newKeySet();

  /** {@code timers} runs the events' retries. */
  public Upstream(MessagePublisher publisher, String topic, Clock clock, RelayMetrics metrics, MessageTracing tracing,
      ScheduledExecutorService timers) {
    this.publisher = publisher;
    this.topic = topic;
    this.clock = clock;
    this.metrics = metrics;
    this.tracing = tracing;
    this.timers = timers;
  }

  /** Publishes a client's frame on the socket's lane and completes with the answer to send it. */
  public CompletableFuture<UpstreamAnswer> publish(UpstreamLane lane, Socket socket, ClientFrame.Publish frame) {
    Instant receivedAt = clock.instant();
    // The lane waits for the real call, however long it takes: the next publish of the socket must not
    // overtake one that may still land. Only the client's answer is bounded (below).
    return lane.submit(frame.id(), () -> {
      Span span = tracing.start("relay upstream publish", SpanKind.PRODUCER, Map.of(), frame.id());
      CompletableFuture<String> published;
      try {
        published = publisher.publish(topic, UpstreamMessages.message(socket, frame.id(), frame.event(), frame.data(),
            receivedAt, MessageTracing.attributes(span)));
      } catch (RuntimeException e) {
        published = CompletableFuture.failedFuture(e);
      }
      return track(published)
          .handle((id, failed) -> {
            if (failed != null) {
              span.setStatus(StatusCode.ERROR, "publish failed");
              LOG.info("upstream publish of connection {} failed: {}", socket.connectionId(), failed.toString());
            }
            span.end();
            return failed == null ? UpstreamAnswer.ACCEPTED : UNAVAILABLE;
          });
    }).copy().completeOnTimeout(UNAVAILABLE, PUBLISH_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> UNAVAILABLE).thenApply(answer -> {
      if (answer.accepted()) {
        metrics.upstreamAccepted();
      } else {
        metrics.upstreamRefused(answer.code());
      }
      return answer;
    });
  }

  /**
   * The socket is established: its {@code connected} event goes first on its lane, ahead of the
   * client's publishes.
   */
  public CompletableFuture<Void> connected(UpstreamLane lane, Socket socket, Instant connectedAt) {
    CompletableFuture<Void> sent = event(UpstreamMessages.CONNECTED, UpstreamMessages.connected(socket, connectedAt),
        socket.connectionId());
    lane.follow(sent);
    return sent;
  }

  /**
   * The node saw the socket close with {@code closeCode}: its {@code disconnected} event goes once
   * everything before it on the lane has ended.
   */
  public CompletableFuture<Void> disconnected(UpstreamLane lane, Socket socket, Instant connectedAt, int closeCode) {
    return track(lane.drained().thenCompose(v -> event(UpstreamMessages.DISCONNECTED, UpstreamMessages.disconnected(
        socket, connectedAt, clock.instant(), OptionalInt.of(closeCode), UpstreamMessages.REASON_CLOSED),
        socket.connectionId())));
  }

  /**
   * The sockets of a node that died without draining: a {@code disconnected} event with
   * {@code reason=node_lost} for each, complete once all are published. Each is tried for
   * {@code patience} only: the cleanup's next pass starts them again, so no pass's retries pile up under
   * the next one's.
   */
  public CompletableFuture<Void> nodeLost(List<ConnectionRecord> connections, Duration patience) {
    Instant now = clock.instant();
    return CompletableFuture.allOf(connections.stream()
        .map(r -> event(UpstreamMessages.DISCONNECTED, UpstreamMessages.disconnected(
            new Socket(r.userId(), r.connectionId(), r.nodeId()), r.connectedAt(), now, OptionalInt.empty(),
            UpstreamMessages.REASON_NODE_LOST), r.connectionId(), patience))
        .toArray(CompletableFuture[]::new));
  }

  /** Waits until every publish and event started so far has ended, or the deadline; true if all did. */
  public boolean awaitOutstanding(Instant deadline) {
    while (!outstanding.isEmpty()) {
      long left = Duration.between(Instant.now(), deadline).toMillis();
      if (left <= 0) {
        return false;
      }
      try {
        CompletableFuture.allOf(outstanding.toArray(CompletableFuture[]::new)).get(left, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } catch (java.util.concurrent.ExecutionException e) {
        // one failed: the rest are still waited for
      }
    }
    return true;
  }

  private CompletableFuture<Void> event(String type, OutboundMessage message, String connectionId) {
    return event(type, message, connectionId, EVENT_PATIENCE);
  }

  private CompletableFuture<Void> event(String type, OutboundMessage message, String connectionId,
      Duration patience) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    track(done);
    attempt(type, message, connectionId, 0, System.nanoTime() + patience.toNanos(), done);
    return done;
  }

  private void attempt(String type, OutboundMessage message, String connectionId, int attempt, long giveUpAt,
      CompletableFuture<Void> done) {
    // the next attempt starts only once this one has ended: no late copy of an attempt overtakes a later one
    publisher.publish(topic, message)
        .whenComplete((id, failed) -> {
          if (failed == null) {
            metrics.connectionEvent(type);
            done.complete(null);
            return;
          }
          if (System.nanoTime() > giveUpAt) {
            LOG.warn("{} event of connection {} could not be published in time: given up: {}", type, connectionId,
                failed.toString());
            done.completeExceptionally(failed);
            return;
          }
          Duration pause = EVENT_RETRIES.get(Math.min(attempt, EVENT_RETRIES.size() - 1));
          try {
            timers.schedule(() -> attempt(type, message, connectionId, attempt + 1, giveUpAt, done),
                pause.toMillis(), TimeUnit.MILLISECONDS);
          } catch (RejectedExecutionException stopping) {
            LOG.warn("{} event of connection {} not published before the node stopped: {}", type, connectionId,
                failed.toString());
            done.completeExceptionally(failed);
          }
        });
  }

  private <T> CompletableFuture<T> track(CompletableFuture<T> f) {
    outstanding.add(f);
    f.whenComplete((v, e) -> outstanding.remove(f));
    return f;
  }
}
