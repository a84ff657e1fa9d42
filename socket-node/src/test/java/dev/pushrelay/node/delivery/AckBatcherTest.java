package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (calls.stream().mapToInt(List::size).sum() < 2500 && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
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
