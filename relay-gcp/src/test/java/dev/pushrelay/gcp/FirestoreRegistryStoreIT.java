package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.registry.ConnectionRecord;
import dev.pushrelay.registry.RegistryStore;
import dev.pushrelay.registry.RegistryStore.Lease;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.topology.Topology;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Firestore registry against the emulator: connections, leases, and the cleanup of a lapsed node. */
class FirestoreRegistryStoreIT {
  private static EmulatorProject project;
  private static RegistryStore registry;

  @BeforeAll
  static void start() {
    project = EmulatorProject.withTopology(Topology.standard());
    registry = new FirestoreRegistryStore(project.clients().firestore(), RelayMetrics.noop(Part.SOCKET_NODE));
  }

  @AfterAll
  static void stop() {
    project.close();
  }

  private static <T> T get(CompletableFuture<T> call) throws Exception {
    return call.get(10, TimeUnit.SECONDS);
  }

  /** When the node's document may be deleted by the collection's TTL policy. */
  private static Instant purgeAt(String node) throws Exception {
    return Timestamps.instant(get(Completions.of(project.clients().firestore()
        .collection(FirestoreRegistryStore.NODES).document(node).get())).getTimestamp("purgeAt"));
  }

  private static String unique(String what) {
    return what + "-" + UUID.randomUUID();
  }

  /** A connection is found under its node and routes its user there while the node's lease lives. */
  @Test
  void aConnectionRoutesItsUserToItsNodeWhileTheLeaseLivesAndNotAfterItsRemoval() throws Exception {
    String node = unique("node");
    String user = unique("user");
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    get(registry.heartbeat(node, "rev-1", now, now.plusSeconds(15)));
    ConnectionRecord c = new ConnectionRecord(unique("c"), user, node, now);
    get(registry.addConnection(c));
    assertEquals(List.of(c), get(registry.connectionsOn(node)));
    assertEquals(Set.of(node), get(registry.liveNodesHolding(user, now.plusSeconds(1))));
    assertEquals(Set.of(), get(registry.liveNodesHolding(user, now.plusSeconds(20))), "past the lease: not live");

    get(registry.removeConnections(List.of(c.connectionId())));
    assertEquals(List.of(), get(registry.connectionsOn(node)));
    assertEquals(Set.of(), get(registry.liveNodesHolding(user, now.plusSeconds(1))));
  }

  /** A user's entries are counted across nodes, another user's not; a removed entry no more. */
  @Test
  void aUsersEntriesAreCountedOnEveryNode() throws Exception {
    String user = unique("user");
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    List<ConnectionRecord> held = List.of(new ConnectionRecord(unique("c"), user, unique("node"), now),
        new ConnectionRecord(unique("c"), user, unique("node"), now),
        new ConnectionRecord(unique("c"), unique("other"), unique("node"), now));
    for (ConnectionRecord c : held) {
      get(registry.addConnection(c));
    }
    assertEquals(2L, get(registry.countConnections(user)));
    get(registry.removeConnections(List.of(held.get(0).connectionId())));
    assertEquals(1L, get(registry.countConnections(user)));
  }

  /**
   * A node without a document is found and adopted with one lapsed now, which the cleanup's query then
   * finds; a node with a document is neither.
   */
  @Test
  void aNodeWithoutADocumentIsAdoptedAsLapsed() throws Exception {
    String live = unique("node");
    String orphan = unique("node");
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    get(registry.heartbeat(live, "rev-1", now, now.plusSeconds(15)));
    assertEquals(Set.of(orphan), get(registry.withoutDocument(List.of(live, orphan))));
    assertEquals(false, get(registry.adoptOrphan(live, now)), "a node with a document keeps it");
    assertEquals(true, get(registry.adoptOrphan(orphan, now)));
    assertEquals(Set.of(), get(registry.withoutDocument(List.of(live, orphan))));
    assertTrue(get(registry.lapsedNodes(now.plusSeconds(1))).contains(orphan), "lapsed: the cleanup takes it");
    assertFalse(get(registry.lapsedNodes(now.plusSeconds(1))).contains(live));
  }

  /** What the node still holds stays; an entry it left behind goes. */
  @Test
  void staleEntriesGoAndHeldOnesStay() throws Exception {
    String node = unique("node");
    String user = unique("user");
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    ConnectionRecord held = new ConnectionRecord(unique("held"), user, node, now);
    ConnectionRecord stale = new ConnectionRecord(unique("stale"), user, node, now);
    get(registry.addConnection(held));
    get(registry.addConnection(stale));
    get(registry.removeStaleConnections(user, node, held.connectionId()::equals));
    assertEquals(List.of(held), get(registry.connectionsOn(node)));
  }

  /**
   * A lease is renewed while the node holds it; once it lapsed, exactly one other node claims its
   * cleanup, and the lapsed node's next renewal finds the lease lost.
   */
  @Test
  void aLapsedNodesCleanupIsClaimedOnceAndItsLeaseIsLost() throws Exception {
    String node = unique("node");
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    get(registry.heartbeat(node, "", now, now.plusSeconds(15)));
    assertEquals(now.plusSeconds(15).plus(FirestoreRegistryStore.NODE_PURGE_AFTER), purgeAt(node),
        "the document outlives its lease: the TTL field is purgeAt");
    assertEquals(Lease.HELD, get(registry.renewLease(node, now.plusSeconds(5), now.plusSeconds(20))));
    assertEquals(now.plusSeconds(20).plus(FirestoreRegistryStore.NODE_PURGE_AFTER), purgeAt(node), "renewed too");
    assertFalse(get(registry.revisionRetired("rev-" + UUID.randomUUID())));

    Instant later = now.plusSeconds(60);
    assertTrue(get(registry.lapsedNodes(later)).contains(node));
    assertFalse(get(registry.claimCleanup(node, "other", now.plusSeconds(10), now.plusSeconds(10))),
        "not lapsed then: not claimed");
    assertTrue(get(registry.claimCleanup(node, "other", later, later)));
    assertFalse(get(registry.claimCleanup(node, "third", later.plusSeconds(1), later)), "claimed once");
    assertEquals(Lease.LOST, get(registry.renewLease(node, later, later.plusSeconds(15))));
    get(registry.removeNode(node));
    assertFalse(get(registry.lapsedNodes(later)).contains(node));
  }
}
