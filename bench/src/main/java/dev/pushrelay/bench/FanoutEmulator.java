package dev.pushrelay.bench;

import com.google.cloud.pubsub.v1.TopicAdminClient;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A Pub/Sub emulator of the fan-out phase's own, one per server under test, with the relay's deliveries
 * and requests topics. Not the stack's: the emulator keeps every message ever published to a topic in
 * its heap (acked or not, subscriptions deleted or not), so the hundreds of thousands of deliveries of
 * a ramp would fill the stack's emulator and slow or break the phases after this one; and there the
 * stack's two nodes would also pull, and ack away, every delivery (the emulator ignores filters).
 */
final class FanoutEmulator implements AutoCloseable {
  private final ServerProcess process;
  private final GcpClients clients;
  private final String host;

  private FanoutEmulator(ServerProcess process, GcpClients clients, String host) {
    this.process = process;
    this.clients = clients;
    this.host = host;
  }

  static FanoutEmulator start(SocketBenchSettings s, String name) throws Exception {
    if (s.pubsubEmulatorJar().isEmpty()) {
      throw new IllegalStateException("PUBSUB_EMULATOR_JAR is not set: the fan-out phase runs an emulator of its own "
          + "(scripts/bench.sh finds it in the gcloud SDK)");
    }
    int port = s.basePort() + 5;
    String host = "127.0.0.1:" + port;
    ServerProcess p = ServerProcess.start("pubsub-emulator", "", List.of(s.javaBin(), "-Xmx" + s.fanoutEmulatorHeap(),
            "-jar", s.pubsubEmulatorJar(), "--host=127.0.0.1", "--port=" + port), Map.of(),
        s.out().resolve("socket-logs").resolve("fanout-emulator-" + name + ".log"), Duration.ofSeconds(10));
    GcpClients clients = null;
    try {
      p.awaitPort(port, Duration.ofSeconds(60));
      clients = new GcpClients(GcpEndpoints.emulators(s.project(), host, s.firestoreHost()));
      try (TopicAdminClient topics = clients.topicAdmin()) {
        // each node creates its own delivery topic; a node re-routes deliveries whose socket is gone to the requests
        // topic, and publishes each socket's connected and disconnected events to the upstream topic (without it,
        // as deployed, the node would retry every event for minutes, in the middle of the measured steps)
        topics.createTopic(clients.topic(s.topology().requestsTopic()));
        topics.createTopic(clients.topic(s.topology().upstreamTopic()));
      }
      return new FanoutEmulator(p, clients, host);
    } catch (Exception e) {
      if (clients != null) {
        clients.close();
      }
      p.close();
      throw new IllegalStateException("the fan-out emulator did not start: " + e + "; log tail:\n" + p.tail(), e);
    }
  }

  /** host:port, for PUBSUB_EMULATOR_HOST. */
  String host() {
    return host;
  }

  GcpClients clients() {
    return clients;
  }

  @Override
  public void close() {
    clients.close();
    process.close();
  }
}
