package dev.pushrelay.node.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.testing.MutableClock;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class DeliveredMarksTest {
  /** Each {@code delivered} call: the user, then its ids. */
  private final List<List<Object>> calls = new ArrayList<>();
  private final Mailbox mailbox = (Mailbox) Proxy.newProxyInstance(Mailbox.class.getClassLoader(),
      new Class<?>[] {Mailbox.class}, (proxy, method, args) -> {
        if (!method.getName().equals("delivered")) {
          throw new UnsupportedOperationException(method.getName());
        }
        calls.add(List.of(args[0], args[1]));
        return CompletableFuture.completedFuture(null);
      });
  private final List<Runnable> due = new ArrayList<>();
  private final DeliveredMarks marks = new DeliveredMarks(mailbox, new MutableClock(Instant.EPOCH),
      RelayMetrics.noop(Part.SOCKET_NODE), due::add);

  /** The acks that come while a user's first mark waits go in its call; another user's go in their own. */
  @Test
  void aUsersMarksGoTogetherOnceTheFirstHasWaited() {
    marks.mark("u1", "a");
    marks.mark("u1", "b");
    marks.mark("u2", "x");
    marks.mark("u1", "c");
    assertEquals(List.of(), calls, "nothing before the wait");
    due.forEach(Runnable::run);
    assertEquals(List.of(List.of("u1", List.of("a", "b", "c")), List.of("u2", List.of("x"))), calls);
  }

  /** A full call goes at once; the wait that was set for it then finds nothing, or the marks after it. */
  @Test
  void aFullCallGoesWithoutWaiting() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < DeliveredMarks.AT_ONCE; i++) {
      ids.add("m" + i);
      marks.mark("u1", "m" + i);
    }
    assertEquals(List.of(List.of("u1", ids)), calls);
    marks.mark("u1", "late");
    due.forEach(Runnable::run);
    assertEquals(List.of(List.of("u1", ids), List.of("u1", List.of("late"))), calls);
  }
}
