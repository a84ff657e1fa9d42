package dev.pushrelay.functions;

import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.mailbox.FirestoreMailbox;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.pubsub.PubSubMessagePublisher;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.FirestoreRegistryStore;
import dev.pushrelay.registry.RegistryStore;

/**
 * The composition root of a function instance: the heavy clients, built once per instance on the
 * first request and shared by every request after it.
 */
public final class FunctionRuntime {
  private static volatile FunctionRuntime instance;

  private final FunctionConfig config;
  private final RelayPublisher publisher;
  private final RegistryStore registry;
  private final Mailbox mailbox;
  private final GcpClients clients;

  private FunctionRuntime(FunctionConfig config) {
    this.config = config;
    this.clients = new GcpClients(config.endpoints());
    this.publisher = new RelayPublisher(new PubSubMessagePublisher(clients), config.topology());
    this.registry = new FirestoreRegistryStore(clients.firestore());
    this.mailbox = new FirestoreMailbox(clients.firestore());
  }

  public static FunctionRuntime get() {
    FunctionRuntime r = instance;
    if (r == null) {
      synchronized (FunctionRuntime.class) {
        if (instance == null) {
          JsonLogging.install();
          instance = new FunctionRuntime(FunctionConfig.fromEnvironment(System.getenv()));
        }
        r = instance;
      }
    }
    return r;
  }

  public FunctionConfig config() {
    return config;
  }

  public RelayPublisher publisher() {
    return publisher;
  }

  public RegistryStore registry() {
    return registry;
  }

  public Mailbox mailbox() {
    return mailbox;
  }

  public GcpClients clients() {
    return clients;
  }
}
