package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RegistrationLimitTest {
  private static final long FAST = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long SLOW = RegistrationLimit.TARGET.toNanos() + 1;
  private static final long TARGET = RegistrationLimit.TARGET.toNanos();

  @Test
  void growsByAboutOneForEachLimitsWorthOfQuickRegistrationsUpToItsMost() {
    RegistrationLimit limit = new RegistrationLimit(50);
    assertEquals(RegistrationLimit.START, limit.current());
    for (int i = 0; i <= RegistrationLimit.START; i++) {
      limit.answered(FAST, false, i);
    }
    assertEquals(RegistrationLimit.START + 1, limit.current());
    for (int i = 0; i < 10_000; i++) {
      limit.answered(FAST, false, i);
    }
    assertEquals(50, limit.current(), "never past its most");
  }

  @Test
  void aSlowOrFailedRegistrationCutsAQuarterOncePerTarget() {
    RegistrationLimit limit = new RegistrationLimit(50);
    limit.answered(SLOW, false, 0);
    assertEquals(12, limit.current(), "16 less a quarter");
    limit.answered(SLOW, false, TARGET - 1);
    limit.answered(FAST, true, TARGET - 1);
    assertEquals(12, limit.current(), "a slow batch counts once");
    limit.answered(FAST, true, TARGET);
    assertEquals(9, limit.current(), "a failure after that cuts again");
    for (int i = 2; i < 20; i++) {
      limit.answered(SLOW, false, i * TARGET);
    }
    assertEquals(RegistrationLimit.LEAST, limit.current(), "never below the least");
  }

  @Test
  void aLimitBelowTheLeastIsKeptAsGiven() {
    RegistrationLimit limit = new RegistrationLimit(2);
    assertEquals(2, limit.current());
    limit.answered(SLOW, false, 0);
    assertEquals(2, limit.current());
  }
}
