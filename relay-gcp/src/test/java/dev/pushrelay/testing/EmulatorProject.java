package dev.pushrelay.testing;

import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.gcp.TopologyBootstrap;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.topology.Topology;
import java.util.Optional;

/** A fresh project on the shared emulators with the standard topology, its clients and a publisher. */
public final class EmulatorProject implements AutoCloseable {
  private final GcpEndpoints endpoints;
  private final GcpClients clients;
  private final PubSubMessagePublisher pubsub;
  private final RelayPublisher publisher;

  private EmulatorProject(Topology topology) {
    endpoints = LocalEmulators.shared().newProject();
    clients = new GcpClients(endpoints);
    new TopologyBootstrap(clients, topology).apply(Optional.empty());
    pubsub = new PubSubMessagePublisher(clients);
    publisher = new RelayPublisher(pubsub, topology);
  }

  /** The router subscription is a pull subscription here: no route function is pushed to. */
  public static EmulatorProject withTopology(Topology topology) {
    return new EmulatorProject(topology);
  }

  public GcpEndpoints endpoints() {
    return endpoints;
  }

  public GcpClients clients() {
    return clients;
  }

  public RelayPublisher publisher() {
    return publisher;
  }

  @Override
  public void close() {
    pubsub.close();
    clients.close();
  }
}
