package dev.pushrelay.node;

import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.auth.TokenSettings;
import dev.pushrelay.node.config.Exposure;
import dev.pushrelay.node.config.NodeConfig;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.delivery.MemoryBroker;
import dev.pushrelay.testing.InMemoryMailbox;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.InMemoryRevocations;
import dev.pushrelay.testing.RecordingPublisher;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A whole socket node, Jetty and all, on loopback port 0, running on an in-memory cloud: registry,
 * mailbox, publisher and delivery channels. What it does there can be seen and driven from a test.
 */
public final class MemoryNode implements AutoCloseable {
  static final Topology TOPOLOGY = Topology.standard();

  final InMemoryRegistryStore registry = new InMemoryRegistryStore();
  final InMemoryMailbox mailbox = new InMemoryMailbox();
  public final InMemoryRevocations revocations = new InMemoryRevocations();
  final RecordingPublisher publisher = new RecordingPublisher();
  final MemoryBroker broker = new MemoryBroker(System::nanoTime);
  final SocketNode node;

  /**
   * HS256 tokens of {@link TestTokens}; sockets from {@code allowedOrigins} only (none: from any), held to
   * {@code limits}.
   */
  public MemoryNode(List<String> allowedOrigins, SocketLimits limits) throws Exception {
    this(allowedOrigins, limits, Exposure.local());
  }

  /** The same, exposed as {@code exposure} says (a cloud node: behind one proxy hop, no query tokens). */
  public MemoryNode(List<String> allowedOrigins, SocketLimits limits, Exposure exposure) throws Exception {
    NodeConfig config = new NodeConfig(0, GcpEndpoints.emulators("memory", "unused:1", "unused:1"), TOPOLOGY,
        "memory-node", TokenSettings.hs256(TestTokens.SECRET.getBytes(StandardCharsets.UTF_8)), true,
        Optional.empty(), 100, allowedOrigins, limits, exposure);
    node = new SocketNode(config, Clock.systemUTC(), Telemetry.local("socket-node"),
        metrics -> new NodeBackends(registry, mailbox, publisher, broker, revocations, () -> { }));
    node.start();
  }

  MemoryNode() throws Exception {
    this(List.of(), SocketLimits.defaults());
  }

  public URI ws() {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws");
  }

  /** Publishes {@code m} to this node's delivery channel, as the route function does. */
  void deliver(RelayMessage m) {
    if (!broker.publish(TOPOLOGY.deliveriesTopicFor(node.nodeId()), m.toJson(),
        Map.of(MessageAttributes.NODE_ID, node.nodeId()))) {
      throw new IllegalStateException("the node's delivery topic is gone");
    }
  }

  @Override
  public void close() {
    node.close();
  }
}
