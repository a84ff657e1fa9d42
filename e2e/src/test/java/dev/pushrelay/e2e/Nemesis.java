package dev.pushrelay.e2e;

import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.EmulatorProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The faults of a chaos run, each done to a real process of the local stack by its process id:
 * SIGKILL, SIGSTOP for a while then SIGCONT (a faithful stall: a GC pause, a starved CPU, a frozen
 * emulator), SIGTERM (a drain), nodes that join, and a rollback that retires a node's revision. Each fault is recorded as a window in time, so
 * the messages accepted during it can be followed to their delivery.
 */
final class Nemesis implements AutoCloseable {
  /** One fault: what it was, and when it began and ended. */
  record Window(String fault, Instant start, Instant end) {
    boolean covers(Instant t) {
      return !t.isBefore(start) && !t.isAfter(end);
    }
  }

  /** A socket node this run can reach: the script's, or one that joined; {@code revision} its K_REVISION. */
  record Node(String name, int port, ProcessHandle process, String revision) {}

  private final LocalStack stack;
  private final ChaosWorkload workload;
  private final List<Window> windows = new CopyOnWriteArrayList<>();
  private final List<Process> joined = new CopyOnWriteArrayList<>();
  private final List<Node> nodes = new CopyOnWriteArrayList<>();
  private int joins;

  Nemesis(LocalStack stack, ChaosWorkload workload) throws Exception {
    this.stack = stack;
    this.workload = workload;
    for (int n = 1; n <= 2; n++) {
      Node node = new Node("socket-node-" + n, stack.port("NODE" + n + "_PORT"), stack.nodeProcess(n), "local-" + n);
      nodes.add(node);
      workload.nodeUp(node.port());
    }
  }

  List<Node> nodes() {
    return List.copyOf(nodes);
  }

  List<Window> windows() {
    return List.copyOf(windows);
  }

  /**
   * A killed node's window: until its lease has lapsed and the cleanup may start (lease 12 s + grace
   * 3 s); a message sent to it meanwhile is in its subscription or parked.
   */
  static final Duration KILLED_UNTIL_CLEANUP = Duration.ofSeconds(15);

  /** SIGKILL: the node vanishes without a drain; its users reconnect elsewhere. */
  Window kill(Node node) throws Exception {
    Instant start = end(node, "KILL", Duration.ofSeconds(10));
    return record("sigkill-node", start, start.plus(KILLED_UNTIL_CLEANUP));
  }

  /** SIGTERM: the graceful drain; the node exits and its users reconnect elsewhere. */
  Window drain(Node node) throws Exception {
    Instant start = end(node, "TERM", Duration.ofSeconds(15));
    return record("sigterm-drain", start, Instant.now());
  }

  /** Takes the node out of the users' choice, signals it and waits for it to exit; returns when it was signalled. */
  private Instant end(Node node, String signal, Duration exit) throws Exception {
    Instant start = Instant.now();
    workload.nodeDown(node.port());
    LocalStack.signal(node.process(), signal);
    node.process().onExit().get(exit.toMillis(), TimeUnit.MILLISECONDS);
    nodes.remove(node);
    return start;
  }

  /** SIGSTOP, then SIGCONT after {@code length}. */
  Window stall(String fault, ProcessHandle process, Duration length) throws Exception {
    Instant start = Instant.now();
    LocalStack.signal(process, "STOP");
    try {
      TimeUnit.MILLISECONDS.sleep(length.toMillis()); // the length of the fault, not a wait for a result
    } finally {
      LocalStack.signal(process, "CONT");
    }
    return record(fault, start, Instant.now());
  }

  /** A new node starts and becomes ready; users may connect to it from then on. */
  Node join() throws Exception {
    Instant start = Instant.now();
    String id = "node-j" + (++joins);
    int port = EmulatorProcess.freePort();
    String revision = "chaos-" + id;
    Process p = stack.startNode(id, port, revision);
    joined.add(p);
    stack.awaitNodeReady(port, Duration.ofSeconds(60));
    Node node = new Node(id, port, p.toHandle(), revision);
    nodes.add(node);
    workload.nodeUp(port);
    record("node-joins", start, Instant.now());
    return node;
  }

  /**
   * A rollback under traffic: {@code scripts/rollback.sh --retire} the node's revision. The users stop
   * choosing it (Cloud Run's traffic moved); the fault lasts until the node closed every socket it held,
   * which then reconnect elsewhere. The node stays up, refusing new sockets, until the run ends.
   */
  Window retire(Node node) throws Exception {
    Instant start = Instant.now();
    workload.nodeDown(node.port());
    stack.retireRevision(node.revision());
    nodes.remove(node);
    Await.until("the retired node's sockets closed", Duration.ofSeconds(20), () -> workload.sockets().stream()
        .filter(s -> s.port == node.port()).allMatch(s -> s.client.closed().isDone()));
    return record("retire-revision", start, Instant.now());
  }

  private Window record(String fault, Instant start, Instant end) {
    Window w = new Window(fault, start, end);
    windows.add(w);
    return w;
  }

  /** Stops the nodes this run started, by their process ids. */
  @Override
  public void close() throws Exception {
    List<Process> all = new ArrayList<>(joined);
    for (Process p : all) {
      p.destroy();
    }
    for (Process p : all) {
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }
}
