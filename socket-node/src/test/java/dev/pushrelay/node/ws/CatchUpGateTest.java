package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class CatchUpGateTest {
  private final List<String> started = new ArrayList<>();

  @Test
  void readsPastTheLimitWaitTheirTurnInOrder() {
    CatchUpGate gate = new CatchUpGate(2);
    for (String read : List.of("a", "b", "c", "d")) {
      gate.enter(() -> true, () -> started.add(read));
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
    CatchUpGate gate = new CatchUpGate(1);
    AtomicBoolean open = new AtomicBoolean(true);
    gate.enter(() -> true, () -> started.add("a"));
    gate.enter(open::get, () -> started.add("closed"));
    gate.enter(() -> true, () -> started.add("c"));
    open.set(false);
    gate.leave();
    assertEquals(List.of("a", "c"), started);
    assertEquals(0, gate.waiting());
    gate.leave();
    assertEquals(0, gate.inFlight());
  }

  @Test
  void aGateWithoutAPlaceIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new CatchUpGate(0));
  }
}
