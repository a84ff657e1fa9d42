package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.pubsub.v1.TopicAdminSettings;
import org.junit.jupiter.api.Test;

class GcpClientsTest {
  /** The generated client would hold a plain publish up to 10 ms for a batch of 100. */
  @Test
  void aPlainPublishIsABatchOfOneSentAtOnce() {
    TopicAdminSettings.Builder defaults = TopicAdminSettings.newBuilder();
    assertTrue(defaults.publishSettings().getBatchingSettings().getElementCountThreshold() > 1,
        "the generated default batches, so the setting below matters");
    var batching = GcpClients.publishAtOnce(TopicAdminSettings.newBuilder()).publishSettings().getBatchingSettings();
    assertEquals(1L, batching.getElementCountThreshold());
    assertEquals(java.time.Duration.ofMillis(1), batching.getDelayThresholdDuration());
  }
}
