package dev.pushrelay.e2e;

import com.google.cloud.Timestamp;
import com.google.cloud.firestore.CollectionReference;
import dev.pushrelay.gcp.FirestoreMailbox;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The emulator's floor under a reconnect storm: the Firestore calls of {@code sockets} sockets' connect
 * path, made straight from the test, {@code inFlight} calls at a time, on the same machine and under the
 * same background as the storm it is put beside. Per socket, as a node makes them: the registration (one
 * write of the registry's document shape), the catch-up's first look (two queries of an empty mailbox, by
 * the relay's own mailbox code), the second and the late look (one query each). No socket, no node, no
 * wait between them: what a storm cannot beat on this machine.
 */
final class ConnectFloor {
  private ConnectFloor() {}

  /** How long the calls of {@code sockets} connects took, {@code inFlight} at a time. */
  static Duration of(StackProbe probe, int sockets, int inFlight) throws Exception {
    RelayMetrics metrics = RelayMetrics.noop(Part.SOCKET_NODE);
    // the registrations go to a collection of their own: in the registry, a thousand sockets of a node that
    // never existed would be reported lost by the nodes' cleanup
    CollectionReference registrations = probe.clients().firestore().collection("connect-floor-" + UUID.randomUUID());
    FirestoreMailbox mailbox = new FirestoreMailbox(probe.clients().firestore(), metrics);
    String run = UUID.randomUUID().toString().substring(0, 8);
    AtomicInteger next = new AtomicInteger();
    ExecutorService callers = Executors.newFixedThreadPool(inFlight);
    List<Future<?>> each = new ArrayList<>();
    long start = System.nanoTime();
    for (int k = 0; k < inFlight; k++) {
      // each caller has one call in flight at a time: inFlight in all
      each.add(callers.submit(() -> {
        for (int i = next.getAndIncrement(); i < sockets; i = next.getAndIncrement()) {
          String user = "floor-" + run + "-" + i;
          String connection = "floor-" + run + "-c" + i;
          Instant now = Instant.now();
          registrations.document(connection).set(Map.of("userId", user, "nodeId", "floor",
              "connectedAt", Timestamp.now(), "expiresAt", Timestamp.now())).get(1, TimeUnit.MINUTES);
          mailbox.claim(user, connection, now).get(1, TimeUnit.MINUTES);
          mailbox.claimNew(user, connection, now).get(1, TimeUnit.MINUTES);
          mailbox.claimNew(user, connection, now).get(1, TimeUnit.MINUTES);
        }
        return null;
      }));
    }
    try {
      for (Future<?> f : each) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      callers.shutdownNow();
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }
}
