package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pushrelay.gcp.FirestoreMailbox;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.IdUse;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.ParkOutcome;
import dev.pushrelay.metrics.Part;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.Priority;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.testing.EmulatorProject;
import dev.pushrelay.topology.Topology;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Firestore mailbox's claims against the emulator, each look at a time the test gives. */
class FirestoreMailboxIT {
  private static EmulatorProject project;
  private static Mailbox mailbox;

  @BeforeAll
  static void start() {
    project = EmulatorProject.withTopology(Topology.standard());
    mailbox = new FirestoreMailbox(project.clients().firestore(), RelayMetrics.noop(Part.SOCKET_NODE));
  }

  @AfterAll
  static void stop() {
    project.close();
  }

  private static Claimed look(String user, String connectionId, Instant at) throws Exception {
    return mailbox.claim(user, connectionId, at).get(10, TimeUnit.SECONDS);
  }

  private static List<String> handed(Claimed claimed) {
    return claimed.messages().stream().map(p -> p.message().id() + (p.claimed() ? "" : " (shared)")).toList();
  }

  /**
   * An unsettled claim comes again to the socket that holds it; another socket shares it within the
   * shared window, then is told when it runs out, and takes it from then on.
   */
  @Test
  void aClaimComesAgainToItsSocketAndRunsOutForTheOthers() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant t0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    RelayMessage m = new RelayMessage("m1", user, "e", null, t0, 3600, Priority.NORMAL);
    assertEquals(ParkOutcome.PARKED, mailbox.parkNew(m, t0).get(10, TimeUnit.SECONDS));
    Instant runsOut = t0.plus(Mailbox.CLAIM_TIMEOUT);

    assertEquals(List.of("m1"), handed(look(user, "c1", t0)), "claimed");
    assertEquals(List.of("m1"), handed(look(user, "c1", t0.plusSeconds(1))), "its own claim, handed again");
    Claimed shared = look(user, "c2", t0.plusSeconds(2));
    assertEquals(List.of("m1 (shared)"), handed(shared), "within the shared window");
    assertEquals(Optional.of(runsOut), shared.lookAgainAt());
    Claimed skipped = look(user, "c2", t0.plus(Mailbox.SHARED_WINDOW).plusSeconds(1));
    assertEquals(List.of(), handed(skipped), "past the shared window: c1's to settle");
    assertEquals(Optional.of(runsOut), skipped.lookAgainAt(), "told when c1's claim runs out");

    Instant after = runsOut.plus(Duration.ofSeconds(1));
    Claimed taken = look(user, "c2", after);
    assertEquals(List.of("m1"), handed(taken), "c1's claim ran out: c2 claims it");
    assertEquals(Optional.empty(), taken.lookAgainAt());
    assertEquals(List.of("m1 (shared)"), handed(look(user, "c1", after.plusSeconds(1))),
        "c1's claim is gone: it shares c2's fresh one");
    mailbox.delivered(user, List.of("m1"), after.plusSeconds(2)).get(10, TimeUnit.SECONDS);
    assertEquals(List.of(), handed(mailbox.claimNew(user, "c3", after.plusSeconds(60)).get(10, TimeUnit.SECONDS)),
        "delivered: nobody gets it again");
  }

  /** A sender's id is recorded per user: first, the same content again, other content; another user's apart. */
  @Test
  void aSendersIdIsRecordedWithItsContent() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant until = Instant.now().plusSeconds(3600);
    assertEquals(IdUse.FIRST, mailbox.recordId(user, "order-42", "f1", until).get(10, TimeUnit.SECONDS));
    assertEquals(IdUse.SAME_CONTENT, mailbox.recordId(user, "order-42", "f1", until).get(10, TimeUnit.SECONDS));
    assertEquals(IdUse.OTHER_CONTENT, mailbox.recordId(user, "order-42", "f2", until).get(10, TimeUnit.SECONDS));
    assertEquals(IdUse.FIRST, mailbox.recordId(user + "-other", "order-42", "f2", until).get(10, TimeUnit.SECONDS));

    // a record whose message is over is free again, though TTL has not deleted it yet
    Instant over = Instant.now().minusSeconds(1);
    assertEquals(IdUse.FIRST, mailbox.recordId(user, "old-7", "f1", over).get(10, TimeUnit.SECONDS));
    assertEquals(IdUse.FIRST, mailbox.recordId(user, "old-7", "f2", until).get(10, TimeUnit.SECONDS));
    assertEquals(IdUse.OTHER_CONTENT, mailbox.recordId(user, "old-7", "f3", until).get(10, TimeUnit.SECONDS));
  }

  /** Parks {@code messages} together; each one's outcome. */
  private List<ParkOutcome> parkAll(List<RelayMessage> messages, Instant t) throws Exception {
    List<ParkOutcome> outcomes = new java.util.ArrayList<>();
    for (java.util.concurrent.CompletableFuture<ParkOutcome> each : mailbox.parkAllNew(messages, t)) {
      outcomes.add(each.get(10, TimeUnit.SECONDS));
    }
    return outcomes;
  }

  /**
   * A catch-up reads a large mailbox page by page: 50 entries at a time, or fewer when their messages pass
   * 1 Mi characters; each page says where the next starts, the last says nothing, and no entry is handed
   * twice or skipped, in accept order.
   */
  @Test
  void aCatchUpGoesPageByPage() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    List<RelayMessage> parked = new java.util.ArrayList<>();
    for (int i = 0; i < 120; i++) {
      parked.add(new RelayMessage(String.format("p%03d", i), user, "e", null, t.plusMillis(i), 3600, Priority.NORMAL));
    }
    parkAll(parked, t);
    List<String> handed = new java.util.ArrayList<>();
    List<Integer> pages = new java.util.ArrayList<>();
    Claimed page = look(user, "c1", t);
    while (true) {
      handed.addAll(handed(page));
      pages.add(page.messages().size());
      if (page.next().isEmpty()) {
        break;
      }
      page = mailbox.claimAfter(user, "c1", t, page.next().get()).get(10, TimeUnit.SECONDS);
    }
    assertEquals(List.of(50, 50, 20), pages);
    assertEquals(parked.stream().map(RelayMessage::id).toList(), handed, "each once, in accept order");

    String big = "mailbox-" + UUID.randomUUID();
    String data = "\"" + "d".repeat(200_000) + "\"";
    List<RelayMessage> large = new java.util.ArrayList<>();
    for (int i = 0; i < 7; i++) {
      large.add(new RelayMessage("b" + i, big, "e", data, t.plusMillis(i), 3600, Priority.NORMAL));
    }
    parkAll(large, t);
    Claimed first = look(big, "c2", t);
    assertEquals(List.of("b0", "b1", "b2", "b3", "b4"), handed(first), "five of 200 KiB fit in 1 Mi characters");
    Claimed second = mailbox.claimAfter(big, "c2", t, first.next().orElseThrow()).get(10, TimeUnit.SECONDS);
    assertEquals(List.of("b5", "b6"), handed(second));
    assertEquals(Optional.empty(), second.next());
  }

  /**
   * A dead node's backlog is parked with its creates sent together: each message gets its own outcome,
   * one whose entry exists already (a second re-route) is decided as {@link Mailbox#park} decides it, and
   * a look then finds every entry in accept order.
   */
  @Test
  void aBacklogIsParkedTogetherEachWithItsOwnOutcome() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    List<RelayMessage> backlog = new java.util.ArrayList<>();
    for (int i = 0; i < 30; i++) {
      backlog.add(new RelayMessage("b" + i, user, "e", null, t.plusMillis(i), 3600, Priority.NORMAL));
    }
    assertEquals(ParkOutcome.PARKED, mailbox.parkNew(backlog.get(7), t).get(10, TimeUnit.SECONDS));
    assertEquals(List.of("b7"), handed(look(user, "c0", t)), "a socket took b7 before the sweep came");
    mailbox.delivered(user, List.of("b7"), t).get(10, TimeUnit.SECONDS);

    List<ParkOutcome> outcomes = parkAll(backlog, t);
    for (int i = 0; i < backlog.size(); i++) {
      assertEquals(i == 7 ? ParkOutcome.ALREADY_DELIVERED : ParkOutcome.PARKED, outcomes.get(i), "b" + i);
    }
    List<String> waiting = backlog.stream().map(RelayMessage::id).filter(id -> !id.equals("b7")).toList();
    assertEquals(waiting, handed(look(user, "c1", t.plus(Mailbox.SHARED_WINDOW).plusSeconds(1))),
        "every new entry, in accept order");
  }

  /**
   * Each claim counts, whether its socket handed it back (release) or died with it (the claim ran out):
   * after {@link Mailbox#MAX_CLAIMS} claims the next look takes the entry for the dead-letter topic and
   * hands it to no socket. A claim handed back unwritten (its socket closed before the frame was out)
   * does not count: a slow catch-up on a churning user's short sockets is no client refusing the message.
   */
  @Test
  void anEntryClaimedTooOftenIsTakenForTheDeadLetterTopic() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    RelayMessage m = new RelayMessage("m1", user, "e", null, t, 3600, Priority.NORMAL);
    assertEquals(ParkOutcome.PARKED, mailbox.parkNew(m, t).get(10, TimeUnit.SECONDS));
    for (int unwritten = 1; unwritten <= Mailbox.MAX_CLAIMS; unwritten++) {
      assertEquals(List.of("m1"), handed(look(user, "u" + unwritten, t)), "unwritten claim " + unwritten);
      mailbox.release(user, "u" + unwritten, List.of("m1"), false).get(10, TimeUnit.SECONDS);
      t = t.plus(Mailbox.SHARED_WINDOW).plusSeconds(1);
    }
    for (int claim = 1; claim <= Mailbox.MAX_CLAIMS; claim++) {
      Claimed look = look(user, "c" + claim, t);
      assertEquals(List.of("m1"), handed(look), "claim " + claim);
      assertEquals(List.of(), look.handedBack());
      if (claim % 2 == 1) {
        mailbox.release(user, "c" + claim, List.of("m1"), true).get(10, TimeUnit.SECONDS); // written, unacked
        t = t.plus(Mailbox.SHARED_WINDOW).plusSeconds(1);
      } else {
        t = t.plus(Mailbox.CLAIM_TIMEOUT).plusSeconds(1); // its socket died with the claim
      }
    }
    Claimed last = look(user, "c-last", t);
    assertEquals(List.of(), handed(last), "no socket gets it again");
    assertEquals(List.of("m1"), last.handedBack().stream().map(RelayMessage::id).toList());
    assertEquals(Optional.of(t.plus(Mailbox.CLAIM_TIMEOUT)), last.lookAgainAt(),
        "looked at again should its dead letter fail");
    assertEquals(ParkOutcome.FINAL, mailbox.park(m, 10, true, 10, t.plusSeconds(1)).get(10, TimeUnit.SECONDS),
        "the last attempt does not count a claim for the dead letter as a socket writing it");
  }

  /** A dead-lettered entry is a tombstone: the route function's retries find it settled, and park it no more. */
  @Test
  void aDeadLetteredEntryIsSettledForTheRetries() throws Exception {
    String user = "mailbox-" + UUID.randomUUID();
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    RelayMessage m = new RelayMessage("m1", user, "e", null, t, 3600, Priority.NORMAL);
    mailbox.parkNew(m, t).get(10, TimeUnit.SECONDS);
    mailbox.deadLettered(user, "m1", t).get(10, TimeUnit.SECONDS);
    assertEquals(ParkOutcome.ALREADY_DEAD_LETTERED, mailbox.park(m, 3, true, 10, t).get(10, TimeUnit.SECONDS));
    assertEquals(List.of(), handed(look(user, "c1", t.plusSeconds(1))));
  }

  /**
   * A retry that routed a pending entry live marks it routed: a catch-up within the shared window shares
   * it in accept order among what waits (its live copy is then a repeat), later looks and later catch-ups
   * leave it, and a park after it (a socket that closed on it unacked) parks it afresh. An entry a
   * socket's catch-up took meanwhile stays as it is.
   */
  @Test
  void aPendingEntryRoutedLiveIsSharedByACatchUpUnderWay() throws Exception {
    String user = "routed-" + UUID.randomUUID();
    Instant t0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    RelayMessage before = new RelayMessage("p0", user, "e", null, t0, 3600, Priority.NORMAL);
    RelayMessage pending = new RelayMessage("p1", user, "e", null, t0.plusMillis(1), 3600, Priority.NORMAL);
    RelayMessage after = new RelayMessage("p2", user, "e", null, t0.plusMillis(2), 3600, Priority.NORMAL);
    RelayMessage taken = new RelayMessage("t1", user, "e", null, t0.plusMillis(3), 3600, Priority.NORMAL);
    for (RelayMessage m : List.of(before, pending, after)) {
      mailbox.parkNew(m, t0).get(10, TimeUnit.SECONDS);
    }
    mailbox.routedLive(user, "p1", t0).get(10, TimeUnit.SECONDS);
    assertEquals(List.of("p0", "p1 (shared)", "p2"), handed(look(user, "c0", t0.plusSeconds(1))),
        "a catch-up right after the route writes it in accept order");
    mailbox.delivered(user, List.of("p0", "p2"), t0.plusSeconds(2)).get(10, TimeUnit.SECONDS);
    assertEquals(List.of(), handed(mailbox.claimNew(user, "c0", t0.plusSeconds(2)).get(10, TimeUnit.SECONDS)),
        "a later look leaves it");
    assertEquals(List.of(), handed(look(user, "c9", t0.plus(Mailbox.SHARED_WINDOW).plusSeconds(3))),
        "past the shared window a new socket does not get it");
    assertEquals(ParkOutcome.PARKED, mailbox.parkNew(pending, t0.plusSeconds(3)).get(10, TimeUnit.SECONDS),
        "back from its socket unacked: parked afresh");

    mailbox.parkNew(taken, t0).get(10, TimeUnit.SECONDS);
    look(user, "c1", t0.plusSeconds(4));
    mailbox.routedLive(user, "t1", t0.plusSeconds(4)).get(10, TimeUnit.SECONDS);
    assertEquals(ParkOutcome.CLAIMED, mailbox.park(taken, 2, true, 10, t0.plusSeconds(4))
        .get(10, TimeUnit.SECONDS), "a claim being written stays");
    mailbox.delivered(user, List.of("t1"), t0.plusSeconds(5)).get(10, TimeUnit.SECONDS);
    mailbox.routedLive(user, "t1", t0.plusSeconds(5)).get(10, TimeUnit.SECONDS);
    assertEquals(ParkOutcome.ALREADY_DELIVERED, mailbox.park(taken, 2, false, 10, t0.plusSeconds(6))
        .get(10, TimeUnit.SECONDS), "the tombstone stays and settles the retry");
  }

  /**
   * A catch-up reads what waits and what another socket claimed within the shared window, never older
   * tombstones: more of them than a look reads do not hide a message parked after them (they did, read
   * oldest first), and one that another socket got moments ago is still shared.
   */
  @Test
  void oldTombstonesDoNotHideWhatWaits() throws Exception {
    int limit = 10;
    Mailbox small = pagesOf(limit, RelayMetrics.noop(Part.SOCKET_NODE));
    String user = "tombstones-" + UUID.randomUUID();
    Instant t0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    List<String> old = new java.util.ArrayList<>();
    for (int i = 0; i < limit + 2; i++) {
      old.add("old-" + i);
      mailbox.parkNew(new RelayMessage("old-" + i, user, "e", null, t0.plusMillis(i), 3600, Priority.NORMAL), t0)
          .get(10, TimeUnit.SECONDS);
    }
    assertEquals(old.size(), look(user, "c1", t0).messages().size());
    mailbox.delivered(user, old, t0).get(10, TimeUnit.SECONDS);

    Instant t1 = t0.plus(Mailbox.SHARED_WINDOW).plusSeconds(1);
    for (String id : List.of("new", "recent")) {
      mailbox.parkNew(new RelayMessage(id, user, "e", null, t1, 3600, Priority.NORMAL), t1).get(10, TimeUnit.SECONDS);
    }
    mailbox.claim(user, "c1", t1).get(10, TimeUnit.SECONDS);
    mailbox.release(user, "c1", List.of("new"), false).get(10, TimeUnit.SECONDS);
    mailbox.delivered(user, List.of("recent"), t1).get(10, TimeUnit.SECONDS);
    assertEquals(List.of("new", "recent (shared)"),
        handed(small.claim(user, "c2", t1.plusSeconds(1)).get(10, TimeUnit.SECONDS)));
  }

  /**
   * A later page of a catch-up reads the shared window only from its cursor on, so it never reads again
   * what its earlier pages claimed; what another socket got moments ago, past the pages of what waits, is
   * still shared, on the page after them.
   */
  @Test
  void aLaterPageStillSharesWhatAnotherSocketGotPastItsCursor() throws Exception {
    dev.pushrelay.testing.MetricsProbe probe = new dev.pushrelay.testing.MetricsProbe();
    Mailbox small = pagesOf(10, probe.relayMetrics(Part.SOCKET_NODE));
    String user = "pages-" + UUID.randomUUID();
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    List<String> theirs = new java.util.ArrayList<>();
    for (int i = 20; i < 25; i++) {
      theirs.add("s" + i);
      mailbox.parkNew(new RelayMessage("s" + i, user, "e", null, t.plusMillis(i), 3600, Priority.NORMAL), t)
          .get(10, TimeUnit.SECONDS);
    }
    assertEquals(theirs, handed(look(user, "c1", t)), "c1 claims the later five");
    mailbox.delivered(user, theirs, t).get(10, TimeUnit.SECONDS);
    List<RelayMessage> waiting = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiting.add(new RelayMessage(String.format("p%02d", i), user, "e", null, t.plusMillis(i), 3600, Priority.NORMAL));
    }
    parkAll(waiting, t);

    Instant now = t.plusSeconds(1);
    List<List<String>> pages = new java.util.ArrayList<>();
    List<Long> reads = new java.util.ArrayList<>();
    Claimed page = small.claim(user, "c2", now).get(10, TimeUnit.SECONDS);
    while (true) {
      pages.add(handed(page));
      reads.add(probe.value(RelayMetrics.FIRESTORE_READS));
      if (page.next().isEmpty()) {
        break;
      }
      page = small.claimAfter(user, "c2", now, page.next().get()).get(10, TimeUnit.SECONDS);
    }
    probe.close();
    List<String> shared = theirs.stream().map(id -> id + " (shared)").toList();
    assertEquals(List.of(waiting.subList(0, 10).stream().map(RelayMessage::id).toList(),
        waiting.subList(10, 20).stream().map(RelayMessage::id).toList(), shared), pages,
        "two pages of what waits, then c1's five, shared");
    // page 2 reads its 10 waiting entries, and of the window only c1's five and the cursor's own entry (its
    // sentAt is the cursor's): none of the other nine that page 1 claimed
    assertEquals(10 + 6, reads.get(1) - reads.get(0), "documents page 2 read");
  }

  /** A mailbox whose catch-up pages hold {@code limit} entries, counting its reads in {@code metrics}. */
  private static Mailbox pagesOf(int limit, RelayMetrics metrics) {
    return new FirestoreMailbox(project.clients().firestore(), metrics, limit);
  }

  /**
   * A hand-back puts an entry back only while the socket handing it back still holds its claim: a late
   * one (a look that answered after its socket closed) leaves a delivered tombstone, and another socket's
   * claim, as they are.
   */
  @Test
  void aReleaseTouchesOnlyTheSocketsOwnClaim() throws Exception {
    String user = "release-" + UUID.randomUUID();
    Instant t0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    for (String id : List.of("d1", "o1")) {
      mailbox.parkNew(new RelayMessage(id, user, "e", null, t0, 3600, Priority.NORMAL), t0).get(10, TimeUnit.SECONDS);
    }
    assertEquals(List.of("d1", "o1"), handed(look(user, "c1", t0)));
    mailbox.delivered(user, List.of("d1"), t0).get(10, TimeUnit.SECONDS);
    mailbox.release(user, "c1", List.of("d1"), false).get(10, TimeUnit.SECONDS);
    mailbox.release(user, "c2", List.of("o1"), false).get(10, TimeUnit.SECONDS);
    Instant later = t0.plus(Mailbox.SHARED_WINDOW).plusSeconds(1);
    assertEquals(List.of("o1"), handed(look(user, "c1", later)), "d1 stays delivered; o1 still c1's own claim");
    assertEquals(ParkOutcome.ALREADY_DELIVERED, mailbox.park(new RelayMessage("d1", user, "e", null, t0, 3600,
        Priority.NORMAL), 2, true, 10, later).get(10, TimeUnit.SECONDS));
    assertEquals(List.of(), handed(look(user, "c3", later)), "o1 is c1's, not released by c2");
  }
}
