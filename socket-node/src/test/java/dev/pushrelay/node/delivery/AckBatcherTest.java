package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class AckBatcherTest {
  @Test
  void acksGoOutInBoundedBatchesAndNoneIsLeftBehindOnClose() throws Exception {
    List<List<String>> calls = new CopyOnWriteArrayList<>();
    Set<String> added = new HashSet<>();
    try (AckBatcher batcher = new AckBatcher("t", calls::add)) {
      for (int i = 0; i < 2500; i++) {
        batcher.add("a" + i);
        added.add("a" + i);
      }
      Await.until("the 2500 acks sent", Duration.ofSeconds(5),
          () -> calls.stream().mapToInt(List::size).sum() >= 2500);
      batcher.add("last");
      added.add("last");
    }
    List<String> sent = new ArrayList<>();
    calls.forEach(sent::addAll);
    assertEquals(added, new HashSet<>(sent), "every ack sent, the last one by close");
    assertEquals(sent.size(), new HashSet<>(sent).size(), "none twice");
    assertTrue(calls.size() < 100, "batched: " + calls.size() + " calls for " + sent.size() + " acks");
    assertTrue(Collections.max(calls.stream().map(List::size).toList()) <= AckBatcher.MAX_BATCH);
  }
}
