package dev.pushrelay.node;

import dev.pushrelay.config.ConfigException;
import dev.pushrelay.gcp.GoogleCloudExport;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.node.config.NodeConfig;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts a socket node from the environment; SIGTERM drains it. */
public final class SocketNodeMain {
  private static final Logger LOG = LoggerFactory.getLogger(SocketNodeMain.class);

  private SocketNodeMain() {}

  public static void main(String[] args) {
    JsonLogging.install();
    NodeConfig config;
    try {
      config = NodeConfig.fromEnvironment(System.getenv());
      Pseudonyms.installFrom(System.getenv());
    } catch (ConfigException e) {
      LOG.error("socket node not started: {}", e.getMessage());
      System.exit(2);
      return;
    }
    SocketNode node = new SocketNode(config, Clock.systemUTC(),
        GoogleCloudExport.telemetry("socket-node", config.nodeId(), System.getenv()));
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "drain"));
    try {
      node.start();
    } catch (Exception e) {
      LOG.error("socket node {} failed to start: {}", config.nodeId(), e.toString(), e);
      System.exit(1);
    }
  }
}
