package dev.pushrelay.node.cleanup;

import dev.pushrelay.registry.RegistryStore;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds delivery subscriptions whose node has no document (a document deleted before its channel was
 * swept: by a TTL policy on an older layout, or a node that died between opening its channel and its
 * first heartbeat) and hands each to the crash cleanup, by writing a document lapsed now for its node.
 * The cleanup then retires it as any lapsed node's, sweep first. A subscription counts as orphaned
 * only when two scans at least {@link #ORPHAN_AFTER} apart found it without a document: a starting node
 * opens its channel before its first heartbeat writes one. Scans every {@link #SCAN_EVERY}, the first
 * at the cleanup's first pass; runs on the cleanup's thread only. Every subscription with the delivery
 * prefix is taken for a node's: the project is the relay's alone (docs/DEPLOY.md, each environment has a
 * project of its own).
 */
final class OrphanChannels {
  private static final Logger LOG = LoggerFactory.getLogger(OrphanChannels.class);
  static final Duration SCAN_EVERY = Duration.ofMinutes(5);
  static final Duration ORPHAN_AFTER = Duration.ofMinutes(2);
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

  private final RegistryStore registry;
  private final Supplier<List<String>> nodesWithSubscriptions;
  /** Nodes whose subscription a scan found without a document, and when first. */
  private final Map<String, Instant> withoutDocument = new HashMap<>();
  private Instant nextScan = Instant.MIN;

  OrphanChannels(RegistryStore registry, Supplier<List<String>> nodesWithSubscriptions) {
    this.registry = registry;
    this.nodesWithSubscriptions = nodesWithSubscriptions;
  }

  /** Scans, if one is due at {@code now}; a failed scan is tried again at the next pass. */
  void scanIfDue(Instant now) {
    if (now.isBefore(nextScan)) {
      return;
    }
    try {
      Set<String> missing = registry.withoutDocument(nodesWithSubscriptions.get())
          .get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      nextScan = now.plus(SCAN_EVERY);
      withoutDocument.keySet().retainAll(missing);
      for (String node : missing) {
        Instant first = withoutDocument.putIfAbsent(node, now);
        if (first != null && !now.isBefore(first.plus(ORPHAN_AFTER))) {
          adopt(node, first, now);
        }
      }
    } catch (Exception e) {
      interruptedAgain(e);
      LOG.warn("the scan for orphaned delivery subscriptions failed, the next pass tries again: {}", e.toString());
    }
  }

  /** One orphan handed to the cleanup; one that fails stays for the next scan, and the others go on. */
  private void adopt(String node, Instant first, Instant now) {
    try {
      if (registry.adoptOrphan(node, now).get(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
        withoutDocument.remove(node);
        LOG.warn("node {} has a delivery subscription and no document since {}: handed to the crash cleanup",
            node, first);
      }
    } catch (Exception e) {
      interruptedAgain(e);
      LOG.warn("node {} has a delivery subscription and no document, not handed over yet, the next scan tries "
          + "again: {}", node, e.toString());
    }
  }

  private static void interruptedAgain(Exception e) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
  }
}
