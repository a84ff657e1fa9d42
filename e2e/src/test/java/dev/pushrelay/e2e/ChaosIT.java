package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The relay's own nemesis: on the local stack, users churn across the nodes while messages flow over
 * HTTP and straight into {@code relay-requests}, and real processes are killed, stalled past their
 * lease, drained and joined, each fault alone and then several at once. A ledger then checks what must
 * hold whatever the faults: nothing accepted is lost (every message reaches its user or the dead
 * letter with a reason), nothing reaches the wrong user, no socket is written an id twice, nothing is
 * dead-lettered while its user is connected. Clients publish to the backend meanwhile: every publish
 * answered {@code accepted} is on the upstream topic under its user, and every socket's life is framed by
 * its connected and disconnected events, whichever way its node went. Last, a node holding 1,000 sockets
 * is drained under traffic and all of them reconnect at once.
 *
 * <p>{@code mvn verify} runs it once. {@code scripts/chaos.sh} runs it {@code -Dchaos.runs} times and
 * writes the figures to {@code docs/RELIABILITY.md}.
 */
class ChaosIT {
  private static final int RUNS = Integer.getInteger("chaos.runs", 1);
  private static final Path REPORT = Path.of(System.getProperty("chaos.report", "target/reliability.md"));
  /** A retry window of about 45 s: longer than the longest fault, so faults alone dead-letter nothing. */
  private static final Map<String, String> RETRY = Map.of(
      "RELAY_RETRY_MIN_BACKOFF_SECONDS", "1",
      "RELAY_RETRY_MAX_BACKOFF_SECONDS", "4",
      "RELAY_MAX_DELIVERY_ATTEMPTS", "12",
      "RELAY_LOG_LEVEL", "DEBUG");
  private static final int USERS = 30;
  private static final double RATE = 25;
  private static final int DRAIN_SOCKETS = 1000;

  @Test
  void nothingIsLostWhateverTheFaults() throws Exception {
    ReliabilityReport report = new ReliabilityReport();
    try {
      for (int run = 1; run <= RUNS; run++) {
        runOnce(report);
      }
    } finally {
      report.write(REPORT, "Reliability: the fault suite", "scripts/chaos.sh " + RUNS);
    }
    ReliabilityReport.Row total = report.total();
    assertEquals(List.of(), report.problems(), "see " + REPORT.toAbsolutePath());
    assertEquals(0, total.lost);
    assertEquals(0, total.wrongUser);
    assertEquals(0, total.duplicates);
    assertEquals(0, total.deadLetteredWhileConnected);
    assertTrue(total.accepted > 1000 * RUNS, "enough traffic: " + total.accepted);
  }

  private void runOnce(ReliabilityReport report) throws Exception {
    try (LocalStack stack = LocalStack.start(RETRY)) {
      Ledger ledger = new Ledger();
      try (UpstreamLedger upstream = new UpstreamLedger(stack.probe().clients());
          ChaosWorkload workload = new ChaosWorkload(stack, ledger, RATE);
          Nemesis nemesis = new Nemesis(stack, workload)) {
        workload.churners("chaos", USERS);
        workload.startSending();
        pace(5);
        faultsAlone(stack, workload, nemesis);
        faultsMixed(stack, nemesis);
        pace(10);
        workload.stopSending();
        workload.settle();
        awaitSettled(ledger, workload, stack);
        drainOfAThousand(stack, ledger, workload, nemesis, report);
        awaitSettled(ledger, workload, stack);
        report.add(nemesis.windows(), ledger, workload.sockets(), stack.probe().deadLetters(),
            stack.probe()::mailboxState);
        // the backend's side: every accepted publish heard, every socket's life framed by its events
        workload.closeSockets(Duration.ofSeconds(20));
        UpstreamLedger.Result heard = upstream.check(workload.sockets(), Duration.ofSeconds(90));
        report.upstream(heard);
        report.note("mailbox or registry transactions that failed for contention (\"too many retries\", "
            + "ABORTED) in every log of the run: " + contentionFailures(stack));
        report.note("run with " + USERS + " churning users at " + RATE + " msg/s; " + workload.refused()
            + " sends refused (503 while Pub/Sub was stalled: not accepted, so not in the ledger)");
      }
    }
  }

  private static void faultsAlone(LocalStack stack, ChaosWorkload workload, Nemesis nemesis) throws Exception {
    Nemesis.Node node1 = nemesis.nodes().get(0);
    Nemesis.Node node2 = nemesis.nodes().get(1);
    nemesis.kill(node2);
    pace(3);
    nemesis.join();
    pace(8);

    // users who stay on node 1 through its stall: afterwards no socket is open there that routes cannot see
    List<ChaosWorkload.Socket> stayers = workload.stayers("stall", 5, node1.port());
    Nemesis.Window stall = nemesis.stall("sigstop-node-past-lease", node1.process(), Duration.ofSeconds(20));
    awaitEveryOpenSocketRoutable(stack, workload, node1.port(), Duration.ofSeconds(15), stall);
    assertTrue(stayers.stream().allMatch(s -> s.client.closed().isDone()), "the fenced node closed its sockets");
    pace(8);

    nemesis.stall("sigstop-route-function", stack.process("route-function"), Duration.ofSeconds(8));
    pace(8);
    nemesis.stall("sigstop-firestore-brief", stack.process("firestore-emulator"), Duration.ofSeconds(3));
    pace(8);
    nemesis.stall("sigstop-firestore-past-lease", stack.process("firestore-emulator"), Duration.ofSeconds(20));
    pace(12);
    nemesis.stall("sigstop-pubsub", stack.process("pubsub-emulator"), Duration.ofSeconds(5));
    pace(8);
    Nemesis.Node rolledBack = nemesis.join();
    pace(8);
    nemesis.retire(rolledBack);
    pace(5);
    nemesis.join();
    pace(5);
  }

  /** Several faults overlapping: the route function, Firestore and Pub/Sub stall while a node dies and one joins. */
  private static void faultsMixed(LocalStack stack, Nemesis nemesis) throws Exception {
    ExecutorService faults = Executors.newFixedThreadPool(4);
    try {
      Instant start = Instant.now();
      List<Future<?>> running = new ArrayList<>();
      running.add(faults.submit(() -> nemesis.stall("mixed", stack.process("route-function"), Duration.ofSeconds(8))));
      pace(2);
      running.add(faults.submit(() -> nemesis.stall("mixed", stack.process("firestore-emulator"), Duration.ofSeconds(3))));
      pace(2);
      Nemesis.Node victim = nemesis.nodes().get(nemesis.nodes().size() - 1);
      running.add(faults.submit(() -> nemesis.kill(victim)));
      pace(2);
      running.add(faults.submit(() -> nemesis.stall("mixed", stack.process("pubsub-emulator"), Duration.ofSeconds(5))));
      running.add(faults.submit(nemesis::join));
      for (Future<?> f : running) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      faults.shutdownNow();
    }
  }

  /**
   * After a stalled node resumes, every socket still open on it is listed in the registry under a node
   * with a live lease: none is left where routes cannot reach it (the fenced node closed them, and what
   * reconnected registered again).
   */
  private static void awaitEveryOpenSocketRoutable(LocalStack stack, ChaosWorkload workload, int port,
      Duration timeout, Nemesis.Window stall) throws Exception {
    AtomicReference<List<String>> unroutable = new AtomicReference<>(List.of());
    Await.until("every socket open on the node routable after its stall", timeout, () -> {
      unroutable.set(Unchecked.get(() -> unroutableSockets(stack, workload, port)));
      return unroutable.get().isEmpty();
    }, () -> unroutable.get().size() + " sockets open on the node after its stall ended at " + stall.end()
        + " that no route can reach: " + unroutable.get());
  }

  /** user/connection of each socket open on the node on {@code port} that no live registration lists. */
  private static List<String> unroutableSockets(LocalStack stack, ChaosWorkload workload, int port) throws Exception {
    List<String> unroutable = new ArrayList<>();
    for (ChaosWorkload.Socket s : workload.sockets()) {
      if (s.port == port && s.client.isOpen() && stack.probe().liveRegistration(s.connectionId).isEmpty()) {
        unroutable.add(s.user + "/" + s.connectionId);
      }
    }
    return unroutable;
  }

  /**
   * A node holding 1,000 sockets is drained (SIGTERM) while messages flow to them; every client
   * reconnects to another node at once. Nothing is lost, and the parked messages arrive right after
   * {@code connection_established}.
   */
  private static void drainOfAThousand(LocalStack stack, Ledger ledger, ChaosWorkload workload, Nemesis nemesis,
      ReliabilityReport report) throws Exception {
    List<Nemesis.Node> nodes = nemesis.nodes();
    Nemesis.Node target = nodes.get(0);
    // the other nodes hold users of their own: the crowd spreads over them as behind a load balancer
    List<Integer> others = nodes.stream().filter(n -> n != target).map(Nemesis.Node::port).toList();
    // the node's 1,000 sockets (its capacity, Cloud Run's concurrency): the users already on it and a crowd
    List<ChaosWorkload.Socket> churners = workload.sockets().stream()
        .filter(s -> s.port == target.port() && s.client.isOpen()).toList();
    int already = churners.size();
    List<ChaosWorkload.Socket> sockets = new ArrayList<>(workload.crowd("crowd", DRAIN_SOCKETS - already,
        target.port()));
    // every client the drain closes comes back elsewhere, as a real one does on 1012: the churning users too
    sockets.addAll(churners);
    workload.sendTo("crowd", 50);
    pace(3);
    Map<Integer, String> incarnations = new java.util.HashMap<>();
    for (int port : others) {
      incarnations.put(port, stack.incarnation(port));
    }
    Nemesis.Window drain = nemesis.drain(target);
    Instant signalled = drain.start();
    List<CompletableFuture<ChaosWorkload.Socket>> back = new ArrayList<>();
    for (ChaosWorkload.Socket s : sockets) {
      back.add(s.client.closed().thenCompose(code -> workload.reconnect(s.user, others)));
    }
    CompletableFuture.allOf(back.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    List<Long> reconnectMillis = back.stream().map(CompletableFuture::join)
        .map(s -> Duration.between(signalled, s.establishedAt).toMillis()).sorted().toList();
    pace(3);
    workload.stopSendingTo("crowd");
    for (int port : others) {
      // the storm must not cost the nodes that take it their leases
      assertEquals(incarnations.get(port), stack.incarnation(port), "the node on port " + port + " kept its lease");
    }
    List<Long> afterEstablished = new ArrayList<>();
    for (CompletableFuture<ChaosWorkload.Socket> f : back) {
      ChaosWorkload.Socket s = f.join();
      for (var frame : s.client.messages()) {
        Instant accepted = ledger.acceptedAt(s.user + "/" + frame.json().get("id").asText());
        if (accepted != null && accepted.isBefore(s.establishedAt)) {
          afterEstablished.add(Duration.between(s.establishedAt, frame.receivedAt()).toMillis());
        }
      }
    }
    List<Long> sorted = afterEstablished.stream().sorted().toList();
    report.note(String.format(java.util.Locale.ROOT, "in that drain, %d messages sent before their user's socket was "
        + "back arrived after its connection_established: p50 %d ms, p99 %d ms, max %d ms", sorted.size(),
        sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2),
        ReliabilityReport.p99(sorted),
        sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1)));
    report.note(String.format(java.util.Locale.ROOT, "drain of a node holding %d sockets under traffic: its %d "
        + "sockets all reconnected to another node, counted from the SIGTERM to their connection_established: "
        + "p50 %.1f s, p90 %.1f s, all %.1f s", sockets.size(), back.size(),
        reconnectMillis.get(reconnectMillis.size() / 2) / 1000.0,
        reconnectMillis.get(reconnectMillis.size() * 9 / 10) / 1000.0,
        reconnectMillis.get(reconnectMillis.size() - 1) / 1000.0));
    // beside it, the emulator's floor for the same connects, under the same background (the traffic goes on)
    workload.sendTo("crowd", 50);
    Duration floor = ConnectFloor.of(stack.probe(), back.size(), 50);
    workload.stopSendingTo("crowd");
    report.note(String.format(java.util.Locale.ROOT, "the Firestore calls of those %d connects alone (a registration "
        + "and four mailbox queries each, 50 at a time, from the test, the traffic going on): %.1f s", back.size(),
        floor.toMillis() / 1000.0));
  }

  /**
   * Waits until every accepted message reached its user or the dead letter, for up to 3 minutes: a slower
   * machine's backlog takes that long, and the report's recovery column says how long it took.
   */
  private static void awaitSettled(Ledger ledger, ChaosWorkload workload, LocalStack stack) throws Exception {
    try {
      ledger.awaitNothingLost(workload::entries, stack.probe()::deadLettered, Duration.ofMinutes(3));
    } catch (TimeoutException e) {
      // the report says which; the assertions after it fail
    }
  }

  /** Lines of the stack's logs that report a Firestore transaction given up for contention. */
  private static long contentionFailures(LocalStack stack) throws Exception {
    long n = 0;
    try (var files = java.nio.file.Files.list(stack.logDir())) {
      for (Path f : files.filter(p -> p.toString().endsWith(".log")).toList()) {
        try (var lines = java.nio.file.Files.lines(f)) {
          n += lines.filter(l -> l.contains("too many retries") || l.contains("ABORTED")).count();
        }
      }
    }
    return n;
  }

  /** The schedule of the faults; not a wait for a result. */
  private static void pace(int seconds) throws InterruptedException {
    TimeUnit.SECONDS.sleep(seconds);
  }
}
