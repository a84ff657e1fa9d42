package dev.pushrelay.node.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SerialExecutorTest {
  @Test
  void aTaskGivenWhileNoneRunsRunsAtOnceOnTheCallersThread() {
    SerialExecutor events = new SerialExecutor();
    Thread[] ranOn = new Thread[1];
    events.execute(() -> ranOn[0] = Thread.currentThread());
    assertEquals(Thread.currentThread(), ranOn[0]);
  }

  @Test
  void aTaskGivenFromATaskRunsAfterItInOrder() {
    SerialExecutor events = new SerialExecutor();
    List<String> order = new ArrayList<>();
    events.execute(() -> {
      order.add("a start");
      events.execute(() -> order.add("b"));
      events.execute(() -> order.add("c"));
      order.add("a end");
    });
    assertEquals(List.of("a start", "a end", "b", "c"), order);
  }

  @Test
  void aTaskThatThrowsDoesNotStopTheLine() {
    SerialExecutor events = new SerialExecutor();
    List<String> order = new ArrayList<>();
    events.execute(() -> {
      events.execute(() -> {
        throw new IllegalStateException("boom");
      });
      events.execute(() -> order.add("after"));
    });
    events.execute(() -> order.add("later"));
    assertEquals(List.of("after", "later"), order);
  }

  /** Four threads giving tasks at once: never two at a time, every one run, each thread's in its order. */
  @Test
  void tasksFromManyThreadsNeverRunBesideEachOther() throws Exception {
    SerialExecutor events = new SerialExecutor();
    AtomicBoolean inside = new AtomicBoolean();
    AtomicBoolean overlapped = new AtomicBoolean();
    AtomicInteger ran = new AtomicInteger();
    int[] lastSeen = new int[4];
    AtomicBoolean outOfOrder = new AtomicBoolean();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int thread = t;
      threads.add(new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 1; i <= 20_000; i++) {
          int n = i;
          events.execute(() -> {
            if (!inside.compareAndSet(false, true)) {
              overlapped.set(true);
            }
            if (lastSeen[thread] != n - 1) {
              outOfOrder.set(true);
            }
            lastSeen[thread] = n;
            ran.incrementAndGet();
            inside.set(false);
          });
        }
      }));
    }
    threads.forEach(Thread::start);
    start.countDown();
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertEquals(80_000, ran.get());
    assertFalse(overlapped.get(), "two tasks ran at once");
    assertFalse(outOfOrder.get(), "a thread's tasks ran out of order");
    assertTrue(threads.stream().noneMatch(Thread::isAlive));
  }
}
