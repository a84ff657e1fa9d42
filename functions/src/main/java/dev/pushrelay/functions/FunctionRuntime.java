package dev.pushrelay.functions;

import dev.pushrelay.gcp.CallLedger;
import dev.pushrelay.gcp.FirestoreMailbox;
import dev.pushrelay.gcp.FirestoreRegistryStore;
import dev.pushrelay.gcp.FirestoreRevocations;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GoogleCloudExport;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.CountingPublisher;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.registry.Revocations;
import dev.pushrelay.topology.Topology;
import java.util.UUID;

/**
 * The composition root of a function instance: the heavy clients and the telemetry, built once per
 * instance on the first request and shared by every request after it. An instance serves one
 * function (Cloud Functions deploys each alone, and so does the local stack), whose part labels the
 * metrics.
 */
public final class FunctionRuntime {
  private static volatile FunctionRuntime instance;

  private final FunctionConfig config;
  private final Telemetry telemetry;
  private final RelayMetrics metrics;
  private final RelayPublisher publisher;
  private final RegistryStore registry;
  private final Mailbox mailbox;
  private final Revocations revocations;
  private final GcpClients clients;

  private FunctionRuntime(FunctionConfig config, Part part) {
    this.config = config;
    String deployable = part.wireName().replace('_', '-');
    this.telemetry = GoogleCloudExport.telemetry(deployable, UUID.randomUUID().toString(), System.getenv());
    this.metrics = new RelayMetrics(telemetry.meter(), part);
    this.clients = new GcpClients(config.endpoints(), CallLedger.fromEnvironment(deployable, System.getenv()));
    Topology topology = config.topology();
    this.publisher = new RelayPublisher(new CountingPublisher(
        new PubSubMessagePublisher(clients, topology::isDeliveriesTopic), metrics, topology::topicLabel), topology);
    this.registry = new FirestoreRegistryStore(clients.firestore(), metrics);
    this.mailbox = new FirestoreMailbox(clients.firestore(), metrics);
    this.revocations = new FirestoreRevocations(clients.firestore(), metrics);
    // An instance ends with SIGTERM: flush what the exporters have not sent yet.
    Runtime.getRuntime().addShutdownHook(new Thread(telemetry::close, "telemetry-flush"));
  }

  /** The instance's runtime, built by the first function that asks; {@code part} labels its metrics. */
  public static FunctionRuntime get(Part part) {
    FunctionRuntime r = instance;
    if (r == null) {
      synchronized (FunctionRuntime.class) {
        if (instance == null) {
          JsonLogging.install();
          FunctionConfig config = FunctionConfig.fromEnvironment(System.getenv());
          Pseudonyms.installFrom(System.getenv());
          instance = new FunctionRuntime(config, part);
        }
        r = instance;
      }
    }
    return r;
  }

  public FunctionConfig config() {
    return config;
  }

  public Telemetry telemetry() {
    return telemetry;
  }

  public RelayMetrics metrics() {
    return metrics;
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

  public Revocations revocations() {
    return revocations;
  }

  public GcpClients clients() {
    return clients;
  }
}
