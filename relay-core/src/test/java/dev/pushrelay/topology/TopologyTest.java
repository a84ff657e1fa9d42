package dev.pushrelay.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TopologyTest {
  /** The classpath copy must be the file Terraform reads: config/topology.json. */
  @Test
  void shippedTopologyIsTheOneSourceOfTruth() throws Exception {
    JsonNode file = new ObjectMapper().readTree(Files.readAllBytes(Path.of("..", "config", "topology.json")));
    Topology t = Topology.standard();
    assertEquals(file.get("requestsTopic").asText(), t.requestsTopic());
    assertEquals(file.get("routerSubscription").asText(), t.routerSubscription());
    assertEquals(file.get("deadLetterTopic").asText(), t.deadLetterTopic());
    assertEquals(file.at("/retry/maxDeliveryAttempts").asInt(), t.retry().maxDeliveryAttempts());
    assertEquals(file.at("/retry/minBackoffSeconds").asInt(), t.retry().minBackoffSeconds());
    assertEquals(file.at("/retry/maxBackoffSeconds").asInt(), t.retry().maxBackoffSeconds());
    assertEquals("relay-deliveries-node-1", t.deliveriesSubscriptionFor("node-1"));
  }
}
