package dev.pushrelay.node.delivery;

import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.cloud.pubsub.v1.MessageReceiver;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pulls a subscription with plain long-polling pulls and hands each message to a receiver, in the
 * order of the answer. Chosen over a streaming pull for the node's deliveries: a message pulled by a process
 * that dies comes back after the ack deadline, with no stream that the service (or the emulator)
 * may go on treating as alive. A message the receiver holds (its socket has not acked it yet) has its
 * ack deadline extended every third of the deadline until it is acked or nacked; the extension stops
 * with the process, so a node that dies gives its messages back within one deadline.
 */
public final class PullLoop {
  private static final Logger LOG = LoggerFactory.getLogger(PullLoop.class);
  private static final int MAX_MESSAGES = 1000;
  /** After an answer too large for the channel, how long pulls stay small before they grow back. */
  private static final long SMALL_FOR_NANOS = TimeUnit.MINUTES.toNanos(1);
  /** How many messages the next pull asks for: cut while answers come too large for the channel. */
  private volatile int pullSize = MAX_MESSAGES;
  private volatile long tooLargeAt;

  private final DeliveryBroker broker;
  private final String subscription;
  private final MessageReceiver receiver;
  private final int workers;
  private final AtomicBoolean running = new AtomicBoolean();
  private final Set<CompletableFuture<List<DeliveryBroker.Pulled>>> outstanding = ConcurrentHashMap.newKeySet();
  private final AckBatcher acks;
  /** Messages handed to the receiver and not yet acked or nacked, by ack id, with when they were pulled. */
  private final Map<String, Long> held = new ConcurrentHashMap<>();
  private final int ackDeadlineSeconds;
  private final Runnable gone;
  private final AtomicBoolean goneReported = new AtomicBoolean();
  private final ScheduledExecutorService extender;
  private final LongSupplier nanoTime;
  private volatile boolean healthy;
  private volatile long lastReceivedNanos;
  private ExecutorService threads;

  /**
   * {@code ackDeadlineSeconds} is the subscription's; {@code gone} runs once if a pull finds the
   * subscription deleted (another node's cleanup took it: the node must fence itself); {@code nanoTime}
   * is the clock that ages held messages and quiet spells.
   */
  public PullLoop(DeliveryBroker broker, String subscription, MessageReceiver receiver, int workers,
      int ackDeadlineSeconds, Runnable gone, LongSupplier nanoTime) {
    this.broker = broker;
    this.subscription = subscription;
    this.nanoTime = nanoTime;
    this.lastReceivedNanos = nanoTime.getAsLong();
    this.receiver = receiver;
    this.workers = workers;
    this.ackDeadlineSeconds = ackDeadlineSeconds;
    this.gone = gone;
    String sub = this.subscription;
    this.extender = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "leases-" + sub);
      t.setDaemon(true);
      return t;
    });
    // a lost ack only brings the message back, which the socket drops as a repeat
    this.acks = new AckBatcher(sub, ids -> broker.ack(sub, ids).exceptionally(e -> {
      LOG.info("acking {} deliveries on {} failed, Pub/Sub will redeliver them: {}", ids.size(), sub, e.toString());
      return null;
    }));
  }

  public void start() {
    running.set(true);
    healthy = true;
    threads = Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "pull-" + subscription);
      t.setDaemon(true);
      return t;
    });
    for (int i = 0; i < workers; i++) {
      threads.execute(this::loop);
    }
    long every = Math.max(1000, ackDeadlineSeconds * 1000L / 3);
    extender.scheduleWithFixedDelay(this::extend, every, every, TimeUnit.MILLISECONDS);
  }

  /** Extends the deadline of every message held longer than a third of it. */
  void extend() {
    long olderThan = nanoTime.getAsLong() - TimeUnit.SECONDS.toNanos(ackDeadlineSeconds) / 3;
    List<String> due = held.entrySet().stream().filter(e -> e.getValue() < olderThan).map(Map.Entry::getKey)
        .toList();
    for (int from = 0; from < due.size(); from += AckBatcher.MAX_BATCH) {
      List<String> batch = due.subList(from, Math.min(due.size(), from + AckBatcher.MAX_BATCH));
      broker.modifyDeadline(subscription, batch, ackDeadlineSeconds).exceptionally(e -> {
        LOG.warn("extending {} ack deadlines on {} failed: {}", batch.size(), subscription, e.toString());
        return null;
      });
    }
  }

  /**
   * Waits until no message has come for {@code quiet} and every message handed out is settled (acked
   * or nacked), or until {@code deadline}; true when quiet. A draining node keeps pulling until then,
   * so what its subscription still holds is re-routed by its own receiver.
   */
  public boolean awaitQuiet(java.time.Duration quiet, java.time.Instant deadline) throws InterruptedException {
    while (java.time.Instant.now().isBefore(deadline)) {
      if (held.isEmpty() && nanoTime.getAsLong() - lastReceivedNanos >= quiet.toNanos()) {
        return true;
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    return false;
  }

  /** True while running and the last pull did not fail. */
  public boolean pulling() {
    return running.get() && healthy;
  }

  /** Stops pulling; messages already handed to the receiver are still acked or nacked by it. */
  public void stop(long timeout, TimeUnit unit) {
    running.set(false);
    outstanding.forEach(f -> f.cancel(true));
    if (threads != null) {
      threads.shutdown();
      try {
        threads.awaitTermination(timeout, unit);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    extender.shutdownNow();
    acks.close();
  }

  private void loop() {
    while (running.get()) {
      CompletableFuture<List<DeliveryBroker.Pulled>> pull;
      try {
        pull = broker.pull(subscription, pullSize);
      } catch (RuntimeException e) {
        pull = CompletableFuture.failedFuture(e); // a throw is a failed pull, never the end of the loop
      }
      outstanding.add(pull);
      try {
        List<DeliveryBroker.Pulled> messages = pull.get();
        healthy = true;
        if (pullSize < MAX_MESSAGES && nanoTime.getAsLong() - tooLargeAt > SMALL_FOR_NANOS) {
          pullSize = Math.min(MAX_MESSAGES, pullSize * 2);
        }
        if (!messages.isEmpty()) {
          lastReceivedNanos = nanoTime.getAsLong();
        }
        for (DeliveryBroker.Pulled m : messages) {
          held.put(m.ackId(), nanoTime.getAsLong());
          receiver.receiveMessage(m.message(), new Reply(m.ackId()));
        }
      } catch (CancellationException e) {
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (running.get() && isNotFound(e)) {
          healthy = false;
          if (goneReported.compareAndSet(false, true)) {
            LOG.warn("subscription {} is gone", subscription);
            gone.run();
          }
          pause();
        } else if (running.get() && isTooLarge(e) && pullSize > 1) {
          // large messages: an answer of this many passes what the channel takes; fewer at a time
          pullSize = fewerAfterTooLarge(pullSize);
          tooLargeAt = nanoTime.getAsLong();
          LOG.warn("a pull from {} answered more than the channel takes; pulling {} at a time", subscription,
              pullSize);
        } else if (running.get() && !isDeadline(e)) {
          healthy = false;
          LOG.warn("pull from {} failed, pulling again: {}", subscription, e.toString());
          pause();
        }
      } finally {
        outstanding.remove(pull);
      }
    }
  }

  private static boolean isNotFound(Exception e) {
    return e instanceof ExecutionException && e.getCause() instanceof DeliveryBroker.GoneException;
  }

  /**
   * The answer was larger than the channel takes (gRPC's RESOURCE_EXHAUSTED): what it held may be leased
   * all the same, and comes back once its ack deadline passes.
   */
  static boolean isTooLarge(Exception e) {
    return String.valueOf(e.getMessage()).contains("RESOURCE_EXHAUSTED");
  }

  /** How many to ask for after an answer of {@code size} messages was too large: a quarter, at least one. */
  static int fewerAfterTooLarge(int size) {
    return Math.max(1, size / 4);
  }

  private static boolean isDeadline(Exception e) {
    return String.valueOf(e.getMessage()).contains("DEADLINE_EXCEEDED");
  }

  private void pause() {
    try {
      TimeUnit.MILLISECONDS.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Acks or nacks one pulled message. */
  private final class Reply implements AckReplyConsumer {
    private final String ackId;

    Reply(String ackId) {
      this.ackId = ackId;
    }

    @Override
    public void ack() {
      held.remove(ackId);
      acks.add(ackId);
    }

    @Override
    public void nack() {
      held.remove(ackId);
      broker.modifyDeadline(subscription, List.of(ackId), 0).exceptionally(e -> null); // it comes back at its deadline
    }
  }
}
