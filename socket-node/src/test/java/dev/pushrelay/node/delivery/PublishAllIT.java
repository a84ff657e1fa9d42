package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Several messages in one publish call, on the emulator, as the sweep re-routes a user's deliveries: an
 * ordered subscription hands each key's messages over in the order given, across the calls of at most
 * 100 that a longer list is cut into.
 */
class PublishAllIT {
  @Test
  void eachKeysMessagesArriveInTheOrderGivenAcrossCalls() throws Exception {
    try (EmulatorProject project = EmulatorProject.withTopology(Topology.standard());
        PubSubMessagePublisher publisher = new PubSubMessagePublisher(project.clients());
        PubSubBroker broker = new PubSubBroker(project.clients())) {
      broker.open("publish-all-it", "publish-all-it", 10);
      List<OutboundMessage> messages = new ArrayList<>();
      for (int i = 0; i < 250; i++) {
        String key = "u" + (i % 3);
        messages.add(new OutboundMessage(key + ":" + i, Map.of(), key));
      }
      List<String> ids = publisher.publishAll("publish-all-it", messages).get(30, TimeUnit.SECONDS);
      assertEquals(250, ids.size(), "one id per message");

      Map<String, List<Integer>> byKey = new TreeMap<>();
      Await.until("all 250 pulled", Duration.ofSeconds(30), () -> {
        List<DeliveryBroker.Pulled> pulled = broker.pullNow("publish-all-it", 100);
        for (DeliveryBroker.Pulled p : pulled) {
          String[] parts = p.message().getData().toStringUtf8().split(":");
          byKey.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Integer.parseInt(parts[1]));
        }
        broker.ack("publish-all-it", pulled.stream().map(DeliveryBroker.Pulled::ackId).toList()).join();
        return byKey.values().stream().mapToInt(List::size).sum() >= 250;
      });
      for (Map.Entry<String, List<Integer>> e : byKey.entrySet()) {
        List<Integer> sorted = new ArrayList<>(e.getValue());
        sorted.sort(null);
        assertEquals(sorted, e.getValue(), "key " + e.getKey() + " in the order given");
      }
      assertEquals(250, byKey.values().stream().mapToInt(List::size).sum(), "each once");
    }
  }
}
