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
import java.util.List;
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
 * Pulls a subscription with plain long-polling pulls, a few at a time, and hands each message to a
 * receiver. Chosen over a streaming pull for the node's deliveries: a message pulled by a process
 * that dies comes back after the ack deadline, with no stream that the service (or the emulator)
 * may go on treating as alive.
 */
public final class PullLoop {
  private static final Logger LOG = LoggerFactory.getLogger(PullLoop.class);
  private static final int MAX_MESSAGES = 100;

  private final SubscriptionAdminClient admin;
  private final String subscription;
  private final MessageReceiver receiver;
  private final int workers;
  private final AtomicBoolean running = new AtomicBoolean();
  private final Set<ApiFuture<PullResponse>> outstanding = ConcurrentHashMap.newKeySet();
  private final AckBatcher acks;
  private volatile boolean healthy;
  private ExecutorService threads;

  public PullLoop(GcpClients clients, String subscription, MessageReceiver receiver, int workers) {
    this.admin = clients.subscriptionAdmin();
    this.subscription = clients.subscription(subscription).toString();
    this.receiver = receiver;
    this.workers = workers;
    String sub = this.subscription;
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
        for (ReceivedMessage m : messages) {
          receiver.receiveMessage(m.getMessage(), new Reply(m.getAckId()));
        }
      } catch (CancellationException e) {
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (running.get() && !isDeadline(e)) {
          healthy = false;
          LOG.warn("pull from {} failed, pulling again: {}", subscription, e.toString());
          pause();
        }
      } finally {
        outstanding.remove(pull);
      }
    }
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
      acks.add(ackId);
    }

    @Override
    public void nack() {
      admin.modifyAckDeadlineCallable().futureCall(ModifyAckDeadlineRequest.newBuilder()
          .setSubscription(subscription).addAckIds(ackId).setAckDeadlineSeconds(0).build());
    }
  }
}
