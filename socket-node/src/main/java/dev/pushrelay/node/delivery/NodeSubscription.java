package dev.pushrelay.node.delivery;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.pubsub.v1.MessageReceiver;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.protobuf.Duration;
import com.google.pubsub.v1.ExpirationPolicy;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.topology.Topology;
import java.util.concurrent.TimeUnit;

/**
 * This node's own subscription on {@code relay-deliveries}, filtered on its node id, created at
 * start and deleted at a graceful stop; a crashed node's one expires after a day unused.
 */
public final class NodeSubscription {
  /** Long-polling pulls kept open at once. */
  private static final int PULLERS = 2;
  private final GcpClients clients;
  private final Topology topology;
  private final String nodeId;
  private final String name;
  private PullLoop pulls;

  public NodeSubscription(GcpClients clients, Topology topology, String nodeId) {
    this.clients = clients;
    this.topology = topology;
    this.nodeId = nodeId;
    this.name = topology.deliveriesSubscriptionFor(nodeId);
  }

  public String name() {
    return name;
  }

  public void create() {
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.createSubscription(Subscription.newBuilder()
          .setName(clients.subscription(name).toString())
          .setTopic(clients.topic(topology.deliveriesTopic()).toString())
          .setFilter("attributes." + MessageAttributes.NODE_ID + " = \"" + nodeId + "\"")
          .setAckDeadlineSeconds(topology.deliveriesAckDeadlineSeconds())
          .setExpirationPolicy(ExpirationPolicy.newBuilder().setTtl(Duration.newBuilder().setSeconds(86_400)))
          .build());
    } catch (AlreadyExistsException e) {
      // a restart with the same node id reuses it
    }
  }

  public void start(MessageReceiver receiver) {
    pulls = new PullLoop(clients, name, receiver, PULLERS);
    pulls.start();
  }

  public boolean pulling() {
    return pulls != null && pulls.pulling();
  }

  public void stop(long timeout, TimeUnit unit) {
    if (pulls != null) {
      pulls.stop(timeout, unit);
    }
  }

  public void delete() {
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.deleteSubscription(clients.subscription(name));
    } catch (NotFoundException e) {
      // already gone
    }
  }
}
