package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Revocations in Firestore against the emulator: read each time, and watched by a snapshot listener. */
class FirestoreRevocationsIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static EmulatorProject project;

  @BeforeAll
  static void start() {
    project = EmulatorProject.withTopology(Topology.standard());
  }

  @AfterAll
  static void stop() {
    project.close();
  }

  private static FirestoreRevocations revocations() {
    return new FirestoreRevocations(project.clients().firestore(), RelayMetrics.noop(Part.SOCKET_NODE));
  }

  /** A revocation covers tokens issued before it; a later one moves it on, an earlier one does not. */
  @Test
  void aRevocationMovesOnlyForward() throws Exception {
    FirestoreRevocations read = revocations();
    String user = "revoked-" + UUID.randomUUID();
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    assertEquals(Optional.empty(), read.issuedBefore(user, now).get(10, TimeUnit.SECONDS));
    read.revoke(user, now).get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of(now), read.issuedBefore(user, now.plusSeconds(1)).get(10, TimeUnit.SECONDS));
    read.revoke(user, now.minusSeconds(60)).get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of(now), read.issuedBefore(user, now.plusSeconds(1)).get(10, TimeUnit.SECONDS),
        "an earlier revocation does not undo a later one");
    read.revoke(user, now.plusSeconds(5)).get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of(now.plusSeconds(5)), read.issuedBefore(user, now.plusSeconds(6)).get(10, TimeUnit.SECONDS));
  }

  /** A watching node hears of a revocation written by another process, and answers from memory. */
  @Test
  void aWatchingNodeHearsOfARevocationAndAnswersFromMemory() throws Exception {
    Map<String, Instant> heard = new ConcurrentHashMap<>();
    FirestoreRevocations watching = revocations().watching();
    watching.onRevoked(heard::put);
    try {
      String user = "watched-" + UUID.randomUUID();
      Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
      revocations().revoke(user, before).get(10, TimeUnit.SECONDS);
      Await.until("the revocation heard by the listener", WAIT, () -> before.equals(heard.get(user)));
      assertEquals(Optional.of(before), watching.issuedBefore(user, before.plusSeconds(1)).get(1, TimeUnit.SECONDS));
    } finally {
      watching.stopWatching();
    }
  }
}
