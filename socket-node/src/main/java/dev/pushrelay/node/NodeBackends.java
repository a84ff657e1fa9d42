package dev.pushrelay.node;

import dev.pushrelay.gcp.CallLedger;
import dev.pushrelay.gcp.FirestoreMailbox;
import dev.pushrelay.gcp.FirestoreRegistryStore;
import dev.pushrelay.gcp.FirestoreRevocations;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.node.delivery.DeliveryBroker;
import dev.pushrelay.node.delivery.PubSubBroker;
import dev.pushrelay.pubsub.MessagePublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.registry.Revocations;
import dev.pushrelay.topology.Topology;

/**
 * The cloud a node runs on, and all of it: the registry, the mailbox and the revocations (Firestore), the publisher and
 * the delivery channels (Pub/Sub). {@link #google} builds the real ones; a test builds a whole node on
 * in-memory ones. {@code resources} is closed last, with the node.
 */
public record NodeBackends(RegistryStore registry, Mailbox mailbox, MessagePublisher publisher,
    DeliveryBroker broker, Revocations revocations, AutoCloseable resources) {

  /**
   * Firestore and Pub/Sub at {@code endpoints} (the emulators when they say so), each call written to
   * the call ledger when the environment turns it on.
   */
  public static NodeBackends google(GcpEndpoints endpoints, Topology topology, RelayMetrics metrics) {
    GcpClients clients = new GcpClients(endpoints, CallLedger.fromEnvironment("socket-node", System.getenv()));
    FirestoreRevocations revocations = new FirestoreRevocations(clients.firestore(), metrics).watching();
    return new NodeBackends(new FirestoreRegistryStore(clients.firestore(), metrics),
        new FirestoreMailbox(clients.firestore(), metrics),
        new PubSubMessagePublisher(clients, topology::isDeliveriesTopic), new PubSubBroker(clients),
        revocations, () -> {
          revocations.stopWatching(); // an open listener would hold Firestore's channel, and its close, open
          clients.close();
        });
  }
}
