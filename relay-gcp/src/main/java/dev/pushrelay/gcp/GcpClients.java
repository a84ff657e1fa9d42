package dev.pushrelay.gcp;

import com.google.api.gax.core.CredentialsProvider;
import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.GrpcTransportChannel;
import com.google.api.gax.rpc.FixedTransportChannelProvider;
import com.google.api.gax.rpc.TransportChannelProvider;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.FirestoreOptions;
import com.google.cloud.pubsub.v1.MessageReceiver;
import com.google.cloud.pubsub.v1.Publisher;
import com.google.cloud.pubsub.v1.Subscriber;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.SubscriptionAdminSettings;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminSettings;
import com.google.pubsub.v1.ProjectSubscriptionName;
import com.google.pubsub.v1.TopicName;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Builds every Pub/Sub and Firestore client, against the cloud or the emulators. The Pub/Sub client
 * does not read {@code PUBSUB_EMULATOR_HOST} itself, so each client gets a plaintext channel and no
 * credentials here. Build once per process and close at exit.
 */
public final class GcpClients implements AutoCloseable {
  private final GcpEndpoints endpoints;
  private final CallLedger ledger;
  private final Optional<ManagedChannel> emulatorChannel;
  private volatile Firestore firestore;

  public GcpClients(GcpEndpoints endpoints) {
    this(endpoints, CallLedger.off());
  }

  /**
   * Clients whose calls are written to {@code ledger} (the test stack's deployables): Firestore's
   * anywhere, Pub/Sub's on the emulator, whose channel this class builds.
   */
  /** The largest answer the Pub/Sub clients take, as Google's subscriber stub sets it. */
  public static final int MAX_ANSWER_BYTES = 20 << 20;

  public GcpClients(GcpEndpoints endpoints, CallLedger ledger) {
    this.endpoints = endpoints;
    this.ledger = ledger;
    // answers as large as the cloud's client takes them (the subscriber stub's 20 MiB), not gRPC's 4 MiB:
    // a pull of large messages must fail, or not, alike on both
    this.emulatorChannel = endpoints.pubsubEmulatorHost()
        .map(host -> ManagedChannelBuilder.forTarget(host).usePlaintext().maxInboundMessageSize(MAX_ANSWER_BYTES)
            .intercept(ledger).build());
  }

  public String projectId() {
    return endpoints.projectId();
  }

  public TopicName topic(String topic) {
    return TopicName.of(endpoints.projectId(), topic);
  }

  public ProjectSubscriptionName subscription(String subscription) {
    return ProjectSubscriptionName.of(endpoints.projectId(), subscription);
  }

  /**
   * Messages and bytes a publisher holds unsent before a publish waits: a burst of fan-out copies is
   * paced by Pub/Sub's answers rather than piling up in memory.
   */
  static final long PUBLISH_BUFFER_BYTES = 32L * 1024 * 1024;
  static final long PUBLISH_BUFFER_MESSAGES = 10_000;

  public Publisher publisher(String topic) {
    try {
      Publisher.Builder b = Publisher.newBuilder(topic(topic));
      // the client's own batching defaults (100 messages, 1 KB, 1 ms), with a bounded buffer
      b.setBatchingSettings(com.google.api.gax.batching.BatchingSettings.newBuilder()
          .setElementCountThreshold(100L)
          .setRequestByteThreshold(1000L)
          .setDelayThresholdDuration(java.time.Duration.ofMillis(1))
          .setFlowControlSettings(com.google.api.gax.batching.FlowControlSettings.newBuilder()
              .setMaxOutstandingRequestBytes(PUBLISH_BUFFER_BYTES)
              .setMaxOutstandingElementCount(PUBLISH_BUFFER_MESSAGES)
              .setLimitExceededBehavior(com.google.api.gax.batching.FlowController.LimitExceededBehavior.Block)
              .build())
          .build());
      channel().ifPresent(b::setChannelProvider);
      credentials().ifPresent(b::setCredentialsProvider);
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build a publisher for " + topic, e);
    }
  }

  /**
   * A streaming-pull subscriber whose leases last at most {@code leaseSeconds} at a time, so messages
   * held by a process that died return to the subscription within about that long.
   */
  public Subscriber subscriber(String subscription, MessageReceiver receiver, int parallelPullCount,
      int leaseSeconds) {
    java.time.Duration lease = java.time.Duration.ofSeconds(leaseSeconds);
    Subscriber.Builder b = Subscriber.newBuilder(subscription(subscription), receiver)
        .setParallelPullCount(parallelPullCount)
        .setMaxDurationPerAckExtensionDuration(lease);
    channel().ifPresent(b::setChannelProvider);
    credentials().ifPresent(b::setCredentialsProvider);
    return b.build();
  }

  /**
   * The admin client, whose plain publish calls (the nodes' delivery topics, ordered messages) go out
   * as they are made: the generated client's default holds each one up to 10 ms for a batch, which was
   * the whole of the direct route's cost over the emulator's own hop (docs/BENCHMARKS.md, phase 4).
   */
  public TopicAdminClient topicAdmin() {
    try {
      TopicAdminSettings.Builder b = publishAtOnce(TopicAdminSettings.newBuilder());
      channel().ifPresent(b::setTransportChannelProvider);
      credentials().ifPresent(b::setCredentialsProvider);
      return TopicAdminClient.create(b.build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the topic admin client", e);
    }
  }

  /** Each publish call is its own request: a batch of one, sent at once. */
  static TopicAdminSettings.Builder publishAtOnce(TopicAdminSettings.Builder b) {
    b.publishSettings().setBatchingSettings(b.publishSettings().getBatchingSettings().toBuilder()
        .setElementCountThreshold(1L)
        .setDelayThresholdDuration(java.time.Duration.ofMillis(1))
        .build());
    return b;
  }

  public SubscriptionAdminClient subscriptionAdmin() {
    try {
      SubscriptionAdminSettings.Builder b = SubscriptionAdminSettings.newBuilder();
      channel().ifPresent(b::setTransportChannelProvider);
      credentials().ifPresent(b::setCredentialsProvider);
      return SubscriptionAdminClient.create(b.build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the subscription admin client", e);
    }
  }

  /** One Firestore client per process. */
  public Firestore firestore() {
    Firestore f = firestore;
    if (f == null) {
      synchronized (this) {
        if (firestore == null) {
          FirestoreOptions.Builder b = FirestoreOptions.newBuilder().setProjectId(endpoints.projectId());
          endpoints.firestoreEmulatorHost().ifPresent(b::setEmulatorHost);
          if (ledger.on()) {
            b.setServiceRpcFactory(LedgeredFirestoreRpc.factory(ledger));
          }
          firestore = b.build().getService();
        }
        f = firestore;
      }
    }
    return f;
  }

  private Optional<TransportChannelProvider> channel() {
    return emulatorChannel.map(c -> FixedTransportChannelProvider.create(GrpcTransportChannel.create(c)));
  }

  private Optional<CredentialsProvider> credentials() {
    return emulatorChannel.map(c -> NoCredentialsProvider.create());
  }

  @Override
  public void close() {
    Firestore f = firestore;
    if (f != null) {
      try {
        f.close();
      } catch (Exception e) {
        // closing at exit: nothing left to do with the error
      }
    }
    emulatorChannel.ifPresent(c -> {
      c.shutdown();
      try {
        c.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }
}
