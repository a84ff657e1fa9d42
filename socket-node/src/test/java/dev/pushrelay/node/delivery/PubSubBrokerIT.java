package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.topology.Topology;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The listing the orphan scan reads, on the emulator: every subscription with the prefix, also one whose
 * topic was deleted (a channel half retired), and none once deleted.
 */
class PubSubBrokerIT {
  @Test
  void subscriptionsAreListedByPrefixWhateverTheirTopics() throws Exception {
    String prefix = "listed-" + UUID.randomUUID().toString().substring(0, 8) + "-";
    try (EmulatorProject project = EmulatorProject.withTopology(Topology.standard());
        PubSubBroker broker = new PubSubBroker(project.clients())) {
      broker.open(prefix + "a", prefix + "a", 10);
      broker.open(prefix + "b", prefix + "b", 10);
      broker.open("other-" + prefix + "c", "other-" + prefix + "c", 10);
      assertEquals(List.of(prefix + "a", prefix + "b"), broker.subscriptions(prefix).stream().sorted().toList());

      broker.deleteTopic(prefix + "a");
      assertEquals(List.of(prefix + "a", prefix + "b"), broker.subscriptions(prefix).stream().sorted().toList(),
          "a subscription outlives its topic");
      broker.deleteSubscription(prefix + "a");
      assertEquals(List.of(prefix + "b"), broker.subscriptions(prefix));
    }
  }
}
