package dev.pushrelay.node.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gathers the ack ids of one subscription and sends them a batch at a time: the first ack after a quiet
 * spell goes out within a millisecond, with whatever came meanwhile, and under load one acknowledge
 * call goes out at most every {@link #SPACING_MILLIS}, with everything that gathered meanwhile. The ack is
 * on a user's path: on the ordered subscription the user's next message waits for it (the emulator
 * holds it back until then), so a batch waits only a few milliseconds. Many small calls cost more than
 * that: the Pub/Sub emulator, given 3,000 acknowledge calls a second of one id each, answers its pulls
 * in about 300 ms instead of 25 ms and falls behind a 3,000 msg/s stream by half; at 15 ids a call it
 * keeps up. One that is lost only brings the message back, which the
 * socket drops as a repeat.
 */
final class AckBatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AckBatcher.class);
  /** Pub/Sub takes up to 2,500 ack ids per call; a batch stays well below. */
  static final int MAX_BATCH = 1000;
  static final long WINDOW_MILLIS = 1;
  /** The least time between two acknowledge calls of a busy node. */
  static final long SPACING_MILLIS = 5;

  private final ConcurrentLinkedQueue<String> pending = new ConcurrentLinkedQueue<>();
  private final Consumer<List<String>> send;
  private final ScheduledExecutorService timer;
  /** A flush is scheduled and has not started yet. */
  private final java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
  /** When the last batch went out (System.nanoTime); touched on the timer thread and read when arming. */
  private volatile long lastSent = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(SPACING_MILLIS);

  /** {@code send} acknowledges one batch; it is called from one thread at a time. */
  AckBatcher(String name, Consumer<List<String>> send) {
    this.send = send;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "acks-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  void add(String ackId) {
    pending.add(ackId);
    if (armed.compareAndSet(false, true)) {
      long sinceLast = System.nanoTime() - lastSent;
      long wait = Math.max(TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS),
          TimeUnit.MILLISECONDS.toNanos(SPACING_MILLIS) - sinceLast);
      try {
        timer.schedule(() -> {
          armed.set(false);
          lastSent = System.nanoTime();
          flush();
        }, wait, TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        armed.set(false); // closing: close() sends what is left
      }
    }
  }

  /** Sends what has gathered, in batches of at most {@link #MAX_BATCH}. */
  void flush() {
    List<String> batch = new ArrayList<>();
    String id;
    while ((id = pending.poll()) != null) {
      batch.add(id);
      if (batch.size() == MAX_BATCH) {
        sendQuietly(batch);
        batch = new ArrayList<>();
      }
    }
    if (!batch.isEmpty()) {
      sendQuietly(batch);
    }
  }

  private void sendQuietly(List<String> batch) {
    try {
      send.accept(batch);
    } catch (RuntimeException e) {
      // the messages come back after their ack deadline and the sockets drop them as repeats
      LOG.warn("acknowledging {} messages failed: {}", batch.size(), e.toString());
    }
  }

  /** Stops the timer and sends what is left. */
  @Override
  public void close() {
    timer.shutdown();
    try {
      timer.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    flush();
  }
}
