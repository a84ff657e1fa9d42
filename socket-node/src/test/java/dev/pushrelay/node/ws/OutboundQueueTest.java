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
}
