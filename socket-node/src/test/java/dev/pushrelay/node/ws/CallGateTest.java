package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class CallGateTest {
  private final List<String> started = new ArrayList<>();

  @Test
  void readsPastTheLimitWaitTheirTurnInOrder() {
    CallGate gate = new CallGate(2);
    for (String read : List.of("a", "b", "c", "d")) {
      gate.enter(() -> true, () -> started.add(read), false);
    }
    assertEquals(List.of("a", "b"), started);
    assertEquals(2, gate.waiting());
    gate.leave();
    assertEquals(List.of("a", "b", "c"), started);
    gate.leave();
    gate.leave();
    assertEquals(List.of("a", "b", "c", "d"), started);
    assertEquals(1, gate.inFlight());
    gate.leave();
    assertEquals(0, gate.inFlight());
  }

  /** A socket that closed while its read waited takes no place: the next one that is still wanted does. */
  @Test
  void aReadNoLongerWantedIsSkipped() {
    CallGate gate = new CallGate(1);
    AtomicBoolean open = new AtomicBoolean(true);
    gate.enter(() -> true, () -> started.add("a"), false);
    gate.enter(open::get, () -> started.add("closed"), false);
    gate.enter(() -> true, () -> started.add("c"), false);
    open.set(false);
    gate.leave();
    assertEquals(List.of("a", "c"), started);
    assertEquals(0, gate.waiting());
    gate.leave();
    assertEquals(0, gate.inFlight());
  }

  /** A limit that falls (the registry answers slowly) holds back the places given back until under it. */
  @Test
  void aFallingLimitKeepsThePlacesGivenBack() {
    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger(2);
    CallGate gate = new CallGate(most::get);
    gate.enter(() -> true, () -> started.add("a"), false);
    gate.enter(() -> true, () -> started.add("b"), false);
    gate.enter(() -> true, () -> started.add("c"), false);
    assertEquals(List.of("a", "b"), started);
    most.set(1);
    gate.leave();
    assertEquals(List.of("a", "b"), started, "two in flight over a limit of one: the place is not handed on");
    assertEquals(1, gate.inFlight());
    gate.leave();
    assertEquals(List.of("a", "b", "c"), started, "one in flight: the next read takes the place");
    assertEquals(1, gate.inFlight());
  }

  /**
   * A limit that grows (the registry answers quickly again) starts as many waiting reads as it allows at the
   * next hand-on, in their order; a newcomer waits behind them.
   */
  @Test
  void aGrowingLimitStartsMoreWaitingReadsInTheirOrder() {
    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger(1);
    CallGate gate = new CallGate(most::get);
    gate.enter(() -> true, () -> started.add("a"), false);
    gate.enter(() -> true, () -> started.add("b"), false);
    gate.enter(() -> true, () -> started.add("c"), false);
    most.set(3);
    gate.enter(() -> true, () -> started.add("newcomer"), false);
    assertEquals(List.of("a", "b", "c"), started, "the waiting ones first, up to the new limit");
    gate.leave();
    assertEquals(List.of("a", "b", "c", "newcomer"), started);
    assertEquals(3, gate.inFlight());
  }

  /** The next page of a catch-up under way waits ahead of catch-ups not begun. */
  @Test
  void aNextPageGoesAheadOfNewCatchUps() {
    CallGate gate = new CallGate(1);
    gate.enter(() -> true, () -> started.add("first page of a"), false);
    gate.enter(() -> true, () -> started.add("b"), false);
    gate.enter(() -> true, () -> started.add("second page of a"), true);
    gate.leave();
    gate.leave();
    assertEquals(List.of("first page of a", "second page of a", "b"), started);
  }

  /**
   * Reads that answer at once give their places back inside the loop that handed them on, not nested in
   * it: ten thousand of them waiting do not overflow the stack, and each starts once.
   */
  @Test
  void readsThatAnswerAtOnceAreStartedOneAfterTheOther() {
    CallGate gate = new CallGate(1);
    int[] depth = {0};
    int[] deepest = {0};
    gate.enter(() -> true, () -> started.add("held"), false);
    for (int i = 0; i < 10_000; i++) {
      gate.enter(() -> true, () -> {
        depth[0]++;
        deepest[0] = Math.max(deepest[0], depth[0]);
        started.add("quick");
        gate.leave();
        depth[0]--;
      }, false);
    }
    gate.leave();
    assertEquals(10_001, started.size());
    assertEquals(1, deepest[0], "never nested");
    assertEquals(0, gate.inFlight());
    assertEquals(0, gate.waiting());
  }

  @Test
  void aGateWithoutAPlaceIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new CallGate(0));
  }
}
