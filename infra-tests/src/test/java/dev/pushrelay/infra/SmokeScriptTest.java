package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The deploy smoke test (scripts/deploy/smoke-test.mjs) against a fake relay on loopback, with
 * Node's own test runner: src/test/node/smoke-test.test.mjs.
 */
class SmokeScriptTest {
  @Test
  void smokeScriptPassesAndFailsWhenItShould() {
    Command.Result r = Command.run(Repo.root(), Duration.ofMinutes(2), List.of(
        Command.tool("node"), "--test", "--test-reporter=spec",
        Repo.module().resolve("src/test/node/smoke-test.test.mjs").toString()));
    assertEquals(0, r.exitCode(), r::describe);
  }
}
