package dev.pushrelay.bench;

import com.google.cloud.pubsub.v1.Publisher;
import com.google.cloud.pubsub.v1.Subscriber;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.protobuf.ByteString;
import com.google.pubsub.v1.PubsubMessage;
import com.google.pubsub.v1.PushConfig;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * The Pub/Sub emulator's own publish-to-receive latency: a scratch topic and subscription of this run,
 * a publisher at a small fixed rate on a thread of its own and a streaming-pull subscriber, both in the
 * bench process. It runs while the relay is under load, so both see the same machine.
 */
final class EmulatorFloor implements AutoCloseable {
  private static final ByteString PAYLOAD = ByteString.copyFromUtf8(
      "{\"userId\":\"floor\",\"event\":\"bench\",\"data\":{\"text\":\"agent finished step 3\",\"n\":1}}");

  private final GcpClients gcp;
  private final Publisher publisher;
  private final Subscriber subscriber;
  private final LatencyRecorder latencies = new LatencyRecorder();
  private final AtomicInteger published = new AtomicInteger();
  private volatile boolean publishing;
  private Thread thread;

  EmulatorFloor(BenchContext ctx) throws Exception {
    gcp = new GcpClients(GcpEndpoints.emulators(ctx.project(), ctx.pubsubHost(), ctx.firestoreHost()));
    String topic = "bench-floor-" + ctx.runId();
    try (TopicAdminClient ta = gcp.topicAdmin(); SubscriptionAdminClient sa = gcp.subscriptionAdmin()) {
      ta.createTopic(gcp.topic(topic));
      sa.createSubscription(gcp.subscription(topic).toString(), gcp.topic(topic).toString(),
          PushConfig.getDefaultInstance(), 10);
    }
    subscriber = gcp.subscriber(topic, (msg, consumer) -> {
      long now = System.nanoTime();
      consumer.ack();
      latencies.record(Long.parseLong(msg.getAttributesOrDefault("t", "0")), now);
    }, 1, 10);
    subscriber.startAsync().awaitRunning();
    publisher = gcp.publisher(topic);
  }

  /** Starts publishing at {@code ratePerSecond} until {@link #stop}; drops what was recorded so far. */
  void start(double ratePerSecond) {
    latencies.reset();
    published.set(0);
    publishing = true;
    thread = new Thread(() -> {
      try {
        long period = (long) (TimeUnit.SECONDS.toNanos(1) / ratePerSecond);
        long start = System.nanoTime();
        for (long i = 0; publishing; i++) {
          long due = start + i * period;
          OpenLoop.sleepUntil(due);
          if (!publishing) {
            break;
          }
          publisher.publish(PubsubMessage.newBuilder().setData(PAYLOAD).putAttributes("t", Long.toString(due)).build());
          published.incrementAndGet();
        }
      } catch (RuntimeException e) {
        System.err.println("floor publisher: " + e);
      }
    }, "emulator-floor");
    thread.setDaemon(true);
    thread.start();
  }

  /** No more publishes after the current one; {@link #stop} still collects what is in flight. */
  void stopPublishing() {
    publishing = false;
  }

  /** Stops publishing, waits up to 15 s for what is in flight, and returns the latencies since start. */
  Histogram stop() throws InterruptedException {
    publishing = false;
    thread.join(5000);
    OpenLoop.await(() -> latencies.count() >= published.get(), 15_000);
    return latencies.reset();
  }

  @Override
  public void close() throws Exception {
    publishing = false;
    publisher.shutdown();
    publisher.awaitTermination(5, TimeUnit.SECONDS);
    subscriber.stopAsync().awaitTerminated(10, TimeUnit.SECONDS);
    gcp.close();
  }
}
