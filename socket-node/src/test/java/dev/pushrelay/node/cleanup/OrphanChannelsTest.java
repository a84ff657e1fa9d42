package dev.pushrelay.node.cleanup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.testing.InMemoryRegistryStore;
import dev.pushrelay.testing.Seams;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class OrphanChannelsTest {
  private final InMemoryRegistryStore registry = new InMemoryRegistryStore();

  /**
   * The registry, where the adoption of node {@code failing} fails as Firestore's would, and the nodes
   * without a document come in name order.
   */
  private RegistryStore failingFor(String failing) {
    return Seams.around(RegistryStore.class, registry, (self, method, args) -> {
      if (method.getName().equals("adoptOrphan") && failing.equals(args[0])) {
        return CompletableFuture.failedFuture(new IllegalStateException("UNAVAILABLE"));
      }
      if (method.getName().equals("withoutDocument")) { // in name order: the failing one comes first
        return registry.withoutDocument(List.of("a-failing", "b-orphan")).thenApply(java.util.TreeSet::new);
      }
      return Seams.PASS;
    });
  }

  /** One orphan whose adoption fails is tried again at the next scan; the others are handed over meanwhile. */
  @Test
  void aFailedAdoptionDoesNotStopTheScan() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    OrphanChannels channels = new OrphanChannels(failingFor("a-failing"), () -> List.of("a-failing", "b-orphan"));
    channels.scanIfDue(now);
    channels.scanIfDue(now.plus(OrphanChannels.SCAN_EVERY));
    assertEquals(Set.of("a-failing"), registry.withoutDocument(List.of("a-failing", "b-orphan")).join(),
        "the second orphan was adopted though the first one's adoption failed");
  }
}
