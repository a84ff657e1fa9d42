package dev.pushrelay.node.ws;

import dev.pushrelay.mailbox.MailboxCursor;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.ws.Connection.State;
import dev.pushrelay.node.ws.SocketDeadlines.Name;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A socket's mailbox looks, from its registration on: the catch-up, page by page, each once the last is
 * written (a page failed is tried again after each pause of
 * {@link SocketTimings#catchUpRetries}, then the socket is closed), the second look while settling, the
 * late look once live, and a look when another socket's claim runs out or after a failed look. Each
 * look answers with a value ({@link MailboxLook}) that is written in one event. It also holds what the
 * socket keeps back until it goes live, and the count for {@code caught_up}. Runs on the socket's
 * events only; the socket's state moves in {@link Connection} alone.
 */
final class MailboxLooks {
  private static final Logger LOG = LoggerFactory.getLogger(MailboxLooks.class);
  /** How long after another socket's claim runs out this socket looks for it. */
  private static final Duration CLAIM_MARGIN = Duration.ofSeconds(1);

  /** The look {@link Name#LOOK} starts. */
  enum Next { CATCH_UP, SECOND, LATE }

  /** A message waiting for the socket to go live; {@code handBack} routes a routed one again. */
  record Held(RelayMessage message, SocketWrite write, Runnable handBack) {}

  private final Connection socket;
  private final NodeSockets node;
  private final SocketDeadlines deadlines;
  private final CatchUpTally tally = new CatchUpTally();
  private Next next = Next.CATCH_UP;
  private int catchUpFailures;
  /** Later looks that failed in a row. */
  private int laterFailures;
  /** A look is under way, or a catch-up's page is being written: the next look waits for it. */
  private boolean looking;
  /** Where the catch-up's next page starts: after the last page's end (null: the catch-up starts at the first). */
  private MailboxCursor page;
  private List<Held> held;

  MailboxLooks(Connection socket, NodeSockets node, SocketDeadlines deadlines) {
    this.socket = socket;
    this.node = node;
    this.deadlines = deadlines;
  }

  /**
   * The catch-up or a later look; its answer, or its failure, comes back as one event. A catch-up's
   * page waits for its place among the node's catch-up reads ({@link CallGate}); its deadline runs
   * from when it is sent.
   */
  void look() {
    looking = true;
    State s = socket.state();
    if (s == State.SETTLING || s == State.LIVE) { // later looks read only what is still waiting
      CompletableFuture<MailboxLook> call = node.catchUp().look(socket.userId(), socket.connectionId(), true);
      socket.answered(call, (look, failed) -> looked(call, look, failed));
      return;
    }
    CallGate gate = node.hub().catchUps();
    gate.enter(() -> socket.state() == State.CATCHING_UP, () -> socket.events().execute(() -> catchUpPage(gate)),
        page != null);
  }

  /** The catch-up's next page, its place among the node's catch-up reads taken (and left as it answers). */
  private void catchUpPage(CallGate gate) {
    if (socket.state() != State.CATCHING_UP || !socket.isOpen()) {
      looking = false;
      gate.leave();
      return;
    }
    CompletableFuture<MailboxLook> call;
    try {
      call = page != null
          ? node.catchUp().next(socket.userId(), socket.connectionId(), page)
          : node.catchUp().look(socket.userId(), socket.connectionId(), false);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<MailboxLook> sent = call;
    socket.answered(sent, (look, failed) -> {
      gate.leave();
      looked(sent, look, failed);
    });
  }

  /**
   * {@link Name#LOOK} or {@link Name#CLAIMS_LOOK} passed: the look starts unless one is under way (the
   * deadline stays passed until then), or the socket is no longer where that look belongs.
   */
  void due(Name name) {
    if (looking) {
      return;
    }
    State s = socket.state();
    boolean due = name == Name.CLAIMS_LOOK ? s == State.LIVE : switch (next) {
      case CATCH_UP -> s == State.CATCHING_UP;
      case SECOND -> s == State.SETTLING;
      case LATE -> s == State.LIVE;
    };
    if (due || name == Name.LOOK) {
      deadlines.clear(name);
    }
    if (due) {
      look();
    }
  }

  /**
   * A look's answer: its messages are written (or held while settling, or handed back when the socket
   * closed meanwhile), in the look's order, ahead of anything routed later. A look that answered after
   * its deadline writes nothing; what it claimed comes with one more look, as the socket's own, or goes
   * back at once, unwritten and not counted, when the socket closed meanwhile.
   */
  private void looked(CompletableFuture<MailboxLook> call, MailboxLook look, Throwable failed) {
    looking = false;
    if (failed instanceof TimeoutException) {
      call.thenAccept(this::answeredLate);
    }
    if (failed != null) {
      lookFailed(failed);
      return;
    }
    State s = socket.state();
    List<CompletableFuture<SocketOutcome>> writes = new ArrayList<>(look.found().size());
    for (MailboxLook.Found found : look.found()) {
      SocketWrite w;
      if (s == State.SETTLING) {
        w = new SocketWrite();
        hold(found.message(), w, null);
      } else {
        w = socket.write(found.message(), null);
        if (s == State.CATCHING_UP) {
          tally.wrote(w);
        }
      }
      CompletableFuture<SocketOutcome> out = w.written().exceptionally(e -> SocketOutcome.NO_SOCKET);
      writes.add(out);
      w.settled().exceptionally(e -> SocketOutcome.NO_SOCKET)
          .thenAcceptBoth(out, (o, frame) -> found.settle().settled(o, frame != SocketOutcome.NO_SOCKET));
    }
    if (!socket.isOpen()) {
      return;
    }
    laterFailures = 0;
    claimsRunOut(look.lookAgainAt());
    if (s == State.CATCHING_UP && look.next().isPresent()) {
      // a page of a longer catch-up: the next one once this one is written, so one page at a time is held
      page = look.next().get();
      looking = true;
      CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new))
          .whenComplete((v, e) -> socket.events().execute(this::nextPage));
    } else if (s == State.CATCHING_UP) {
      tally.offered(socket.output().behindMessages(tally.frame()));
      socket.settling();
      lookAfter(Next.SECOND, timings().secondLook());
    } else if (s == State.SETTLING) {
      socket.goLive();
    }
  }

  /** The last page of the catch-up is written: the next one, unless the socket moved on meanwhile. */
  private void nextPage() {
    looking = false;
    if (socket.state() == State.CATCHING_UP && socket.isOpen()) {
      look();
    }
  }

  private void lookFailed(Throwable failed) {
    String connectionId = socket.connectionId();
    if (socket.state() == State.CATCHING_UP) {
      List<Duration> retries = timings().catchUpRetries();
      if (catchUpFailures >= retries.size()) {
        LOG.warn("mailbox catch-up of connection {} failed {} times, closing it so the client reconnects: {}",
            connectionId, catchUpFailures + 1, failed.toString());
        socket.closeTransport(SocketClose.MAILBOX_UNAVAILABLE);
        return;
      }
      LOG.info("mailbox catch-up of connection {} failed, trying again: {}", connectionId, failed.toString());
      lookAfter(Next.CATCH_UP, retries.get(catchUpFailures++));
    } else if (socket.isOpen()) {
      LOG.info("mailbox look of connection {} failed: {}", connectionId, failed.toString());
      if (laterFailures < timings().catchUpRetries().size()) {
        lookAgainAfter(timings().catchUpRetries().get(laterFailures++));
      }
      socket.goLive(); // a failed second look ends the settling window all the same
    }
  }

  /** Another socket's claim runs out at {@code at}: this socket looks then, a second later (clocks differ). */
  private void claimsRunOut(Optional<Instant> at) {
    at.ifPresent(runsOut -> {
      Duration left = Duration.between(node.clock().instant(), runsOut).plus(CLAIM_MARGIN);
      lookAgainAfter(left.compareTo(CLAIM_MARGIN) < 0 ? CLAIM_MARGIN : left);
    });
  }

  /**
   * A look's claims landed after the socket gave up on it: an open socket looks once more, which hands it
   * its own claims again; a closed one hands them back, unwritten, so that they cost the user no claim.
   */
  private void answeredLate(MailboxLook late) {
    if (late.found().isEmpty()) {
      return;
    }
    socket.events().execute(() -> {
      if (socket.isOpen()) {
        lookAgainAfter(Duration.ZERO);
      } else {
        late.found().forEach(f -> f.settle().settled(SocketOutcome.NO_SOCKET, false));
      }
    });
  }

  /** A look for claims after {@code after}, or sooner if one is due sooner; counted once the socket is live. */
  void lookAgainAfter(Duration after) {
    deadlines.setEarlier(Name.CLAIMS_LOOK, node.nanoTime() + after.toNanos());
    socket.reschedule();
  }

  void lookAfter(Next which, Duration after) {
    next = which;
    deadlines.set(Name.LOOK, node.nanoTime() + after.toNanos());
    socket.reschedule();
  }

  CatchUpTally tally() {
    return tally;
  }

  void hold(RelayMessage message, SocketWrite write, Runnable handBack) {
    if (held == null) {
      held = new ArrayList<>();
    }
    held.add(new Held(message, write, handBack));
  }

  /** What was held, in accept order; none is held after. */
  List<Held> release() {
    if (held == null) {
      return List.of();
    }
    List<Held> released = held;
    held = null;
    released.sort(Comparator.comparing(Held::message, RelayMessage.DELIVERY_ORDER));
    return released;
  }

  /** The socket takes nothing more: what it held goes back to whoever handed it over. */
  void dropHeld() {
    if (held != null) {
      held.forEach(h -> h.write().fail(SocketOutcome.NO_SOCKET));
      held = null;
    }
  }

  private SocketTimings timings() {
    return node.timings();
  }
}
