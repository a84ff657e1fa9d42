package dev.pushrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvReaderTest {
  @Test
  void reportsEveryProblemAtOnceWithoutSecretValues() {
    EnvReader env = new EnvReader(Map.of("PORT", "eighty", "SECRET", "short", "FLAG", "maybe"));
    env.integer("PORT", 8080, 0, 65535);
    env.secret("SECRET", 32);
    env.flag("FLAG", false);
    env.required("MISSING");
    ConfigException e = assertThrows(ConfigException.class, env::finish);
    assertEquals(4, e.problems().size());
    assertTrue(e.getMessage().contains("PORT") && e.getMessage().contains("MISSING"));
    assertTrue(!e.getMessage().contains("short"), "secret values never appear");
  }

  @Test
  void retrySettingsOverrideTheStandardTopology() {
    EnvReader env = new EnvReader(Map.of(TopologySettings.MIN_BACKOFF, "0", TopologySettings.MAX_BACKOFF, "1",
        TopologySettings.MAX_ATTEMPTS, "5"));
    Topology t = TopologySettings.read(env);
    env.finish();
    assertEquals(0, t.retry().minBackoffSeconds());
    assertEquals(1, t.retry().maxBackoffSeconds());
    assertEquals(5, t.retry().maxDeliveryAttempts());
    assertEquals(Topology.standard().requestsTopic(), t.requestsTopic());
  }

  @Test
  void retrySettingsOutsidePubSubBoundsAreRefused() {
    EnvReader env = new EnvReader(Map.of(TopologySettings.MAX_ATTEMPTS, "3", TopologySettings.MAX_BACKOFF, "601"));
    TopologySettings.read(env);
    assertEquals(2, assertThrows(ConfigException.class, env::finish).problems().size());
  }
}
