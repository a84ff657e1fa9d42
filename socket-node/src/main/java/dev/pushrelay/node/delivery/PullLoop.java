package dev.pushrelay.node.delivery;

import com.google.api.core.ApiFuture;
import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.cloud.pubsub.v1.MessageReceiver;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.AcknowledgeRequest;
import com.google.pubsub.v1.ModifyAckDeadlineRequest;
import com.google.pubsub.v1.PullRequest;
import com.google.pubsub.v1.PullResponse;
import com.google.pubsub.v1.ReceivedMessage;
import dev.pushrelay.gcp.GcpClients;
import com.google.api.gax.rpc.NotFoundException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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

  private final SubscriptionAdminClient admin;
  private final String subscription;
  private final MessageReceiver receiver;
  private final int workers;
  private final AtomicBoolean running = new AtomicBoolean();
  private final Set<ApiFuture<PullResponse>> outstanding = ConcurrentHashMap.newKeySet();
  private final AckBatcher acks;
  /** Messages handed to the receiver and not yet acked or nacked, by ack id, with when they were pulled. */
  private final Map<String, Long> held = new ConcurrentHashMap<>();
  private final int ackDeadlineSeconds;
  private final Runnable gone;
  private final AtomicBoolean goneReported = new AtomicBoolean();
  private final ScheduledExecutorService extender;
  private volatile boolean healthy;
  private volatile long lastReceivedNanos = System.nanoTime();
  private ExecutorService threads;

  /**
   * {@code ackDeadlineSeconds} is the subscription's; {@code gone} runs once if a pull finds the
   * subscription deleted (another node's cleanup took it: the node must fence itself).
   */
  public PullLoop(GcpClients clients, String subscription, MessageReceiver receiver, int workers,
      int ackDeadlineSeconds, Runnable gone) {
    this.admin = clients.subscriptionAdmin();
    this.subscription = clients.subscription(subscription).toString();
    this.receiver = receiver;
    this.workers = workers;
    this.ackDeadlineSeconds = ackDeadlineSeconds;
    this.gone = gone;
    String sub = this.subscription;
    this.extender = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "leases-" + sub.substring(sub.lastIndexOf('/') + 1));
      t.setDaemon(true);
      return t;
    });
    this.acks = new AckBatcher(sub.substring(sub.lastIndexOf('/') + 1),
        ids -> admin.acknowledgeCallable().futureCall(AcknowledgeRequest.newBuilder()
            .setSubscription(sub).addAllAckIds(ids).build()));
  }

  public void start() {
    running.set(true);
    healthy = true;
    threads = Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "pull-" + subscription.substring(subscription.lastIndexOf('/') + 1));
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
    long olderThan = System.nanoTime() - TimeUnit.SECONDS.toNanos(ackDeadlineSeconds) / 3;
    List<String> due = held.entrySet().stream().filter(e -> e.getValue() < olderThan).map(Map.Entry::getKey)
        .toList();
    for (int from = 0; from < due.size(); from += AckBatcher.MAX_BATCH) {
      List<String> batch = due.subList(from, Math.min(due.size(), from + AckBatcher.MAX_BATCH));
      try {
        admin.modifyAckDeadlineCallable().futureCall(ModifyAckDeadlineRequest.newBuilder()
            .setSubscription(subscription).addAllAckIds(batch).setAckDeadlineSeconds(ackDeadlineSeconds).build());
      } catch (RuntimeException e) {
        LOG.warn("extending {} ack deadlines on {} failed: {}", batch.size(), subscription, e.toString());
      }
    }
  }

  /**
   * Waits until no message has come for {@code quiet} and every message handed out is settled (acked
   * or nacked), or until {@code deadline}; true when quiet. A draining node keeps pulling until then,
   * so what its subscription still holds is re-routed by its own receiver.
   */
  public boolean awaitQuiet(java.time.Duration quiet, java.time.Instant deadline) throws InterruptedException {
    while (java.time.Instant.now().isBefore(deadline)) {
      if (held.isEmpty() && System.nanoTime() - lastReceivedNanos >= quiet.toNanos()) {
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
    admin.close();
  }

  private void loop() {
    while (running.get()) {
      ApiFuture<PullResponse> pull = admin.pullCallable().futureCall(
          PullRequest.newBuilder().setSubscription(subscription).setMaxMessages(MAX_MESSAGES).build());
      outstanding.add(pull);
      try {
        List<ReceivedMessage> messages = pull.get().getReceivedMessagesList();
        healthy = true;
        if (!messages.isEmpty()) {
          lastReceivedNanos = System.nanoTime();
        }
        for (ReceivedMessage m : messages) {
          held.put(m.getAckId(), System.nanoTime());
          receiver.receiveMessage(m.getMessage(), new Reply(m.getAckId()));
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
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof NotFoundException) {
        return true;
      }
    }
    return false;
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
      admin.modifyAckDeadlineCallable().futureCall(ModifyAckDeadlineRequest.newBuilder()
          .setSubscription(subscription).addAckIds(ackId).setAckDeadlineSeconds(0).build());
    }
  }
}
