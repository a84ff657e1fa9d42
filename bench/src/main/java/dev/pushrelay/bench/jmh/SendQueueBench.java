package dev.pushrelay.bench.jmh;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.DeliveryOutcome;
import dev.pushrelay.node.ws.LocalConnection;
import dev.pushrelay.node.ws.OutboundQueue;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The socket node's per-connection send path without the network: the ordered {@link OutboundQueue}
 * alone (each write completed at once, or a backlog completed later in order, as Jetty does when the
 * socket is slower than the producer), and a routed message through {@link LocalConnection} (duplicate
 * check, unacked tracking, frame JSON, queue) followed by the client's ack.
 */
@State(Scope.Thread)
public class SendQueueBench {
  private static final int BATCH = 64;
  /** More distinct ids than the connection remembers (2,048), so each one is written, never suppressed. */
  private static final int MESSAGES = 4096;

  private final ArrayDeque<Runnable> pendingWrites = new ArrayDeque<>();
  private String frame;
  private OutboundQueue immediate;
  private OutboundQueue deferred;
  private LocalConnection connection;
  private RelayMessage[] messages;
  private int next;

  @Setup
  public void setUp() throws Exception {
    messages = new RelayMessage[MESSAGES];
    for (int i = 0; i < MESSAGES; i++) {
      messages[i] = RelayMessage.parse(("{\"id\":\"64e086d6-c524-4e6c-b726-" + String.format("%012d", i)
          + "\",\"userId\":\"demo-user\",\"event\":\"agent_update\","
          + "\"data\":{\"step\":3,\"text\":\"agent finished step 3\",\"tags\":[\"a\",\"b\"]},"
          + "\"sentAt\":\"2026-11-27T05:25:50.980Z\",\"ttlSeconds\":86400,\"priority\":\"normal\"}")
          .getBytes(StandardCharsets.UTF_8));
    }
    frame = dev.pushrelay.model.ServerFrames.message(messages[0]);
    immediate = new OutboundQueue((text, written, failed) -> written.run(), 1024, 1 << 20, () -> { });
    deferred = new OutboundQueue((text, written, failed) -> pendingWrites.add(written), 1024, 1 << 20, () -> { });
    connection = new LocalConnection("c1", "demo-user",
        new OutboundQueue((text, written, failed) -> written.run(), 1024, 1 << 20, () -> { }), Clock.systemUTC());
    connection.goLive();
  }

  /** One frame offered and written at once: the queue's own bookkeeping and its future. */
  @Benchmark
  public CompletableFuture<Void> offerWrittenAtOnce() {
    return immediate.offer(frame);
  }

  /** 64 frames queued behind a busy socket, then written in order: cost per frame. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int offerBacklogThenWrite() {
    for (int i = 0; i < BATCH; i++) {
      deferred.offer(frame);
    }
    Runnable written;
    while ((written = pendingWrites.poll()) != null) {
      written.run();
    }
    return deferred.unwritten();
  }

  /** A routed message to a live socket (frame built, queued, written) and the client's ack of it. */
  @Benchmark
  public boolean deliverAndAck() {
    RelayMessage m = messages[next];
    next = (next + 1) % MESSAGES;
    CompletableFuture<DeliveryOutcome> outcome = connection.deliver(m);
    return connection.acked(m.id()) && outcome.isDone();
  }
}
