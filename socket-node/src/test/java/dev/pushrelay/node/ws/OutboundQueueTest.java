package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {
  /** A network that takes nothing: every write stays pending. */
  private static final OutboundQueue.Sink STUCK = (text, written, failed) -> { };

  @Test
  void aSlowConsumerOverflowsOnceAndNobodyElseWaits() {
    AtomicInteger overflows = new AtomicInteger();
    OutboundQueue slow = new OutboundQueue(STUCK, 1024, Long.MAX_VALUE, overflows::incrementAndGet);
    List<Runnable> fastWrites = new ArrayList<>();
    OutboundQueue fast = new OutboundQueue((text, written, failed) -> fastWrites.add(written), 1024);
    for (int i = 0; i < 1024; i++) {
      assertTrue(!slow.offer("m" + i).isDone());
    }
    CompletableFuture<Void> refused = slow.offer("one too many");
    assertTrue(refused.isCompletedExceptionally());
    slow.offer("and another");
    assertEquals(1, overflows.get(), "the owner is told once, and closes the socket with 1013");
    CompletableFuture<Void> other = fast.offer("for someone else");
    fastWrites.forEach(Runnable::run);
    assertTrue(other.isDone() && !other.isCompletedExceptionally());
  }

  /** What waits unwritten counts in the node's memory at two bytes a character, until written or failed. */
  @Test
  void unwrittenFramesCountInTheNodesMemoryUntilWrittenOrFailed() {
    NodeMemory memory = new NodeMemory(1000);
    List<Runnable> written = new ArrayList<>();
    List<java.util.function.Consumer<Throwable>> failed = new ArrayList<>();
    OutboundQueue q = new OutboundQueue((text, w, f) -> {
      written.add(w);
      failed.add(f);
    }, 1024, 10_000, () -> { }, memory);
    q.offer("x".repeat(300));
    q.offer("y".repeat(300));
    assertEquals(1200, memory.used());
    assertTrue(memory.over());
    written.get(0).run();
    assertEquals(600, memory.used());
    failed.get(1).accept(new java.io.IOException("closed"));
    assertEquals(0, memory.used());
    assertTrue(!memory.over());
  }

  @Test
  void aFewLargeFramesAreBoundedByCharacters() {
    AtomicInteger overflows = new AtomicInteger();
    OutboundQueue q = new OutboundQueue(STUCK, 1024, 1000, overflows::incrementAndGet);
    assertTrue(!q.offer("x".repeat(5000)).isDone(), "one frame alone always fits");
    assertTrue(q.offer("y").isCompletedExceptionally());
    assertEquals(1, overflows.get());
    assertEquals(1, q.unwritten());
  }

  @Test
  void writtenFramesFreeTheirRoom() {
    List<Runnable> pending = new ArrayList<>();
    OutboundQueue q = new OutboundQueue((text, written, failed) -> pending.add(written), 2, 10, () -> { });
    q.offer("12345");
    q.offer("12345");
    assertTrue(q.offer("1").isCompletedExceptionally());
    pending.forEach(Runnable::run);
    assertTrue(!q.offer("1234567890").isCompletedExceptionally());
  }

  /**
   * On a backed-up socket an urgent frame (a high priority message) overtakes the normal frames still
   * waiting here, not those already handed to the socket; each lane keeps its own order.
   */
  @Test
  void anUrgentFrameOvertakesTheNormalOnesStillWaiting() {
    List<String> handed = new ArrayList<>();
    List<Runnable> writes = new ArrayList<>();
    OutboundQueue q = new OutboundQueue((text, written, failed) -> {
      handed.add(text);
      writes.add(written);
    }, 1024);
    int normals = OutboundQueue.WINDOW + 5;
    for (int i = 0; i < normals; i++) {
      q.offer("n" + i);
    }
    CompletableFuture<Void> high = q.offer("h0", true);
    q.offer("h1", true);
    assertEquals(OutboundQueue.WINDOW, handed.size(), "no more than the window is handed to the socket");
    while (handed.size() < normals + 2) {
      List<Runnable> now = new ArrayList<>(writes);
      writes.clear();
      now.forEach(Runnable::run);
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < OutboundQueue.WINDOW; i++) {
      expected.add("n" + i);
    }
    expected.add("h0");
    expected.add("h1");
    for (int i = OutboundQueue.WINDOW; i < normals; i++) {
      expected.add("n" + i);
    }
    assertEquals(expected, handed);
    writes.forEach(Runnable::run);
    assertTrue(high.isDone());
    assertEquals(0, q.unwritten());
  }

  /** A socket that writes at once (the unit tests' sinks) hands over everything, without recursing per frame. */
  @Test
  void aSinkThatCompletesAtOnceGetsEveryFrameInOrder() {
    List<String> handed = new ArrayList<>();
    OutboundQueue q = new OutboundQueue((text, written, failed) -> {
      handed.add(text);
      written.run();
    }, 100_000);
    for (int i = 0; i < 50_000; i++) {
      q.offer(Integer.toString(i));
    }
    assertEquals(50_000, handed.size());
    assertEquals("49999", handed.get(49_999));
    assertEquals(0, q.unwritten());
  }
}
