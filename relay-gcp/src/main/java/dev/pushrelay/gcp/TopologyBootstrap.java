package dev.pushrelay.gcp;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.cloud.pubsub.v1.TopicAdminClient;
import com.google.protobuf.Duration;
import com.google.pubsub.v1.DeadLetterPolicy;
import com.google.pubsub.v1.PushConfig;
import com.google.pubsub.v1.RetryPolicy;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.config.EnvReader;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.topology.RetrySettings;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the relay's topics and subscriptions from the {@link Topology} on the Pub/Sub emulator
 * (Terraform does the same in the cloud). Idempotent. The router subscription pushes to the route
 * function when a push URL is given, else it is a pull subscription.
 */
public final class TopologyBootstrap {
  private static final Logger LOG = LoggerFactory.getLogger(TopologyBootstrap.class);

  private final GcpClients clients;
  private final Topology topology;

  public TopologyBootstrap(GcpClients clients, Topology topology) {
    this.clients = clients;
    this.topology = topology;
  }

  public void apply(Optional<String> routePushUrl) {
    try (TopicAdminClient topics = clients.topicAdmin();
        SubscriptionAdminClient subscriptions = clients.subscriptionAdmin()) {
      for (String topic : new String[] {
          topology.requestsTopic(), topology.high().requestsTopic(), topology.deadLetterTopic(),
          topology.upstreamTopic()}) {
        try {
          topics.createTopic(clients.topic(topic));
        } catch (AlreadyExistsException e) {
          // already there from an earlier run
        }
      }
      create(subscriptions, router(topology.routerSubscription(), topology.requestsTopic(), topology.retry(),
          routePushUrl));
      create(subscriptions, router(topology.high().routerSubscription(), topology.high().requestsTopic(),
          topology.high().retry(), routePushUrl));
      create(subscriptions, Subscription.newBuilder()
          .setName(clients.subscription(topology.deadLetterHoldSubscription()).toString())
          .setTopic(clients.topic(topology.deadLetterTopic()).toString())
          .setAckDeadlineSeconds(60)
          .build());
    }
  }

  /** A retry subscription: backoff, dead letter, and a push to the route function when a URL is given. */
  private Subscription router(String name, String topic, RetrySettings r, Optional<String> routePushUrl) {
    Subscription.Builder router = Subscription.newBuilder()
        .setName(clients.subscription(name).toString())
        .setTopic(clients.topic(topic).toString())
        .setAckDeadlineSeconds(topology.routerAckDeadlineSeconds())
        .setRetryPolicy(RetryPolicy.newBuilder()
            .setMinimumBackoff(seconds(r.minBackoffSeconds()))
            .setMaximumBackoff(seconds(r.maxBackoffSeconds())))
        .setDeadLetterPolicy(DeadLetterPolicy.newBuilder()
            .setDeadLetterTopic(clients.topic(topology.deadLetterTopic()).toString())
            .setMaxDeliveryAttempts(r.maxDeliveryAttempts()));
    routePushUrl.ifPresent(url -> router.setPushConfig(PushConfig.newBuilder().setPushEndpoint(url)));
    return router.build();
  }

  private static void create(SubscriptionAdminClient admin, Subscription s) {
    try {
      admin.createSubscription(s);
    } catch (AlreadyExistsException e) {
      // keep the existing one; the local stack starts from a fresh emulator anyway
    }
  }

  private static Duration seconds(int s) {
    return Duration.newBuilder().setSeconds(s).build();
  }

  /** Local stack entry point: reads the same environment as the deployables. */
  public static void main(String[] args) {
    JsonLogging.install();
    EnvReader env = new EnvReader(System.getenv());
    GcpEndpoints endpoints = GcpEndpoints.read(env);
    Topology topology = TopologySettings.read(env);
    Optional<String> push = env.optional("RELAY_ROUTE_PUSH_URL");
    env.finish();
    try (GcpClients clients = new GcpClients(endpoints)) {
      new TopologyBootstrap(clients, topology).apply(push);
    }
    LOG.info("topology ready: requests={} router={} retry={}s..{}s attempts={}", topology.requestsTopic(),
        topology.routerSubscription(), topology.retry().minBackoffSeconds(), topology.retry().maxBackoffSeconds(),
        topology.retry().maxDeliveryAttempts());
  }
}
