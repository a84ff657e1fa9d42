package dev.pushrelay.e2e;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.testing.TestSocketClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The figures of chaos runs, per fault and in total: what was accepted while the fault lasted, what of
 * it was delivered or dead-lettered, what was lost, delivered to the wrong user, or written twice to
 * one socket, and how long after the fault's end the messages sent during it arrived (p99).
 */
final class ReliabilityReport {
  /** What one row counts. */
  static final class Row {
    int runs;
    int accepted;
    int delivered;
    int deadLettered;
    int lost;
    int wrongUser;
    int duplicates;
    int inversions;
    int deadLetteredWhileConnected;
    final List<Long> recoveryMillis = new ArrayList<>();
    /**
     * The same messages, timed from the end of the last fault they met: of every fault that began and ended
     * before the message reached its user, the one that ended last (its own fault's end at the least). Faults
     * follow each other a few seconds apart, so a message that a later fault held too (its user's socket on
     * the node stalled next, its route behind a Firestore stall) is timed from that fault's end here, and
     * from its own fault's end in {@link #recoveryMillis}.
     */
    final List<Long> afterLastFaultMillis = new ArrayList<>();
    /** The message that took longest to reach a socket after its fault ended: where a tail comes from. */
    final Slowest slowest = new Slowest();
    /** The same, timed from the end of the last fault it met. */
    final Slowest slowestAfterLast = new Slowest();

    long recoveryP99() {
      return p99(recoveryMillis.stream().sorted().toList());
    }

    long afterLastFaultP99() {
      return p99(afterLastFaultMillis.stream().sorted().toList());
    }
  }

  /** The slowest message by one measure: its key and how it went, and its time. */
  static final class Slowest {
    String key;
    long millis = -1;

    void offer(long candidateMillis, java.util.function.Supplier<String> describe) {
      if (candidateMillis > millis) {
        millis = candidateMillis;
        key = describe.get();
      }
    }

    void appendTo(StringBuilder b, String label) {
      if (key != null) {
        b.append(String.format(Locale.ROOT, "- %s: %.1f s, %s%n", label, millis / 1000.0, key));
      }
    }
  }

  /** The 99th percentile (nearest rank) of {@code sorted}, in ascending order; 0 when it is empty. */
  static long p99(List<Long> sorted) {
    return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.99) - 1));
  }

  private final Map<String, Row> rows = new LinkedHashMap<>();
  private final Row total = new Row();
  private final List<String> notes = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();

  /**
   * Adds one run: its fault windows, its ledger, the sockets that took part and the dead letters;
   * {@code mailbox} tells what the user's mailbox holds of a message (user, id), for each one lost.
   */
  void add(List<Nemesis.Window> windows, Ledger ledger, List<ChaosWorkload.Socket> sockets,
      List<PubsubMessage> deadLetterMessages, java.util.function.BiFunction<String, String, String> mailbox) {
    List<Map.Entry<String, TestSocketClient>> entries = sockets.stream()
        .map(s -> Map.entry(s.user, s.client)).toList();
    for (Map.Entry<String, TestSocketClient> e : entries) {
      ledger.received(e.getKey(), e.getValue());
    }
    Set<String> dead = new HashSet<>();
    for (PubsubMessage m : deadLetterMessages) {
      dead.add(m.getAttributesOrDefault(MessageAttributes.USER_ID, "") + "/"
          + m.getAttributesOrDefault(MessageAttributes.MESSAGE_ID, ""));
    }
    Set<String> lost = ledger.lost(dead);
    List<String> wrong = Ledger.wrongUser(entries);
    List<String> repeats = Ledger.duplicatesOnASocket(entries);
    Set<String> inverted = ledger.inversions(entries);
    List<String> whileConnected = Ledger.deadLetteredWhileConnected(deadLetterMessages, sockets, Duration.ofSeconds(3));
    total.runs++;
    Set<String> all = ledger.acceptedWhere(t -> true);
    count(total, all, ledger, dead, lost, wrong, repeats, inverted, whileConnected, null, windows);
    Map<String, Boolean> seen = new LinkedHashMap<>();
    for (Nemesis.Window w : windows) {
      Row row = rows.computeIfAbsent(w.fault(), f -> new Row());
      if (seen.putIfAbsent(w.fault(), true) == null) {
        row.runs++;
      }
      Set<String> during = ledger.acceptedWhere(w::covers);
      count(row, during, ledger, dead, lost, wrong, repeats, inverted, whileConnected, w.end(), windows);
    }
    lost.stream().limit(20).forEach(k -> {
      String[] userAndId = k.split("/", 2);
      problems.add("lost " + k + " (mailbox: " + mailbox.apply(userAndId[0], userAndId[1]) + ")");
    });
    wrong.stream().limit(20).forEach(k -> problems.add("wrong user: " + k));
    repeats.stream().limit(20).forEach(k -> problems.add("twice on one socket: " + k));
    // reported, not a problem: faults (a retry, a fenced node) may reorder, as the README says
    inverted.stream().limit(5).forEach(k -> notes.add("written after a message sent later: " + k));
    whileConnected.stream().limit(20).forEach(k -> problems.add("dead-lettered while connected: " + k));
  }

  private static void count(Row row, Set<String> keys, Ledger ledger, Set<String> dead, Set<String> lost,
      List<String> wrong, List<String> repeats, Set<String> inverted, List<String> whileConnected, Instant faultEnd,
      List<Nemesis.Window> windows) {
    for (String key : keys) {
      row.accepted++;
      Instant first = ledger.firstReceived(key);
      if (first != null) {
        row.delivered++;
        Instant from = faultEnd != null ? faultEnd : ledger.acceptedAt(key);
        long recovery = Math.max(0, Duration.between(from, first).toMillis());
        row.recoveryMillis.add(recovery);
        Instant lastEnd = lastFaultEnd(from, first, windows);
        long afterLast = Math.max(0, Duration.between(lastEnd, first).toMillis());
        row.afterLastFaultMillis.add(afterLast);
        if (faultEnd != null) {
          row.slowest.offer(recovery,
              () -> key + " (accepted " + ledger.acceptedAt(key) + ", first on a socket " + first + ")");
          row.slowestAfterLast.offer(afterLast,
              () -> key + " (the last fault it met ended " + lastEnd + ", first on a socket " + first + ")");
        }
      } else if (dead.contains(key)) {
        row.deadLettered++;
      }
      if (lost.contains(key)) {
        row.lost++;
      }
      if (inverted.contains(key)) {
        row.inversions++;
      }
      String id = key.substring(key.indexOf('/') + 1);
      row.wrongUser += (int) wrong.stream().filter(w -> w.contains(" got " + id + " ")).count();
      row.duplicates += (int) repeats.stream().filter(r -> r.endsWith("/" + id)).count();
      row.deadLetteredWhileConnected += (int) whileConnected.stream().filter(w -> w.contains("/" + id + " ")).count();
    }
  }

  /**
   * The latest of {@code from} and the ends of the faults that began and ended before {@code first}: a fault
   * still under way when the message arrived did not hold it.
   */
  private static Instant lastFaultEnd(Instant from, Instant first, List<Nemesis.Window> windows) {
    Instant last = from;
    for (Nemesis.Window w : windows) {
      if (w.start().isBefore(first) && w.end().isBefore(first) && w.end().isAfter(last)) {
        last = w.end();
      }
    }
    return last;
  }

  /** The upstream ledger of one run: its figures as a note, its findings as problems. */
  void upstream(UpstreamLedger.Result r) {
    note(String.format(java.util.Locale.ROOT, "upstream: %d client publishes answered accepted, all on the upstream "
            + "topic under their user unless listed below; %d sockets, %d connected and %d disconnected events "
            + "(%d of them node_lost, from the cleanup of a node that died)", r.accepted(), r.connections(),
        r.connectedEvents(), r.disconnectedEvents(), r.nodeLost()));
    problems.addAll(r.problems());
  }

  void note(String line) {
    notes.add(line);
  }

  Row total() {
    return total;
  }

  List<String> problems() {
    return List.copyOf(problems);
  }

  String markdown(String title, String command) {
    StringBuilder b = new StringBuilder();
    b.append("# ").append(title).append("\n\n");
    b.append("Written by `").append(command).append("` on ").append(Instant.now()).append(" (")
        .append(total.runs).append(total.runs == 1 ? " run" : " runs").append("). Each run is a fresh local stack ")
        .append("with users churning across the nodes while messages flow over HTTP and straight into ")
        .append("`relay-requests`; the faults hit real processes by their pid. A fault's row counts the messages ")
        .append("accepted while it lasted; recovery p99 is the time from the fault's end until those messages ")
        .append("reached a socket of their user (0 when they arrived before it ended); the next column times the ")
        .append("same messages from the end of the last fault they met (of the faults that began and ended before the ")
        .append("message reached its user, the one that ended last, its own at the least: the faults follow each ")
        .append("other seconds apart, and a later one may hold a message too). Inversions counts messages ")
        .append("written to a socket after a message of the same user whose send began only after they were accepted ")
        .append("(sends that overlapped are not promised an order).\n\n");
    b.append("| fault | runs | accepted | delivered | dead-lettered | lost | wrong user | twice on a socket "
        + "| inversions | dead-lettered while connected | recovery p99 | p99 after the last fault it met |\n");
    b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    rows.forEach((fault, row) -> line(b, fault, row));
    line(b, "**all messages of the runs**", total);
    b.append("\n");
    rows.forEach((fault, row) -> {
      row.slowest.appendTo(b, "slowest after " + fault);
      row.slowestAfterLast.appendTo(b, "slowest after the last fault it met, of " + fault);
    });
    if (!notes.isEmpty()) {
      for (String n : notes) {
        b.append("- ").append(n).append("\n");
      }
    }
    if (!problems.isEmpty()) {
      b.append("\nProblems seen:\n\n");
      for (String p : problems) {
        b.append("- ").append(p).append("\n");
      }
    }
    return b.toString();
  }

  private static void line(StringBuilder b, String name, Row r) {
    b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %.1f s | %.1f s |%n", name,
        r.runs, r.accepted, r.delivered, r.deadLettered, r.lost, r.wrongUser, r.duplicates, r.inversions,
        r.deadLetteredWhileConnected,
        r.recoveryP99() / 1000.0, r.afterLastFaultP99() / 1000.0));
  }

  void write(Path file, String title, String command) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, markdown(title, command));
  }
}
