package dev.pushrelay.node.ws;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.util.SerialExecutor;
import dev.pushrelay.node.ws.SocketDeadlines.Name;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket on this node, from its handshake to the removal of its registry entry: its state, its
 * deadlines and its messages. Every event of the socket (the transport's open, frames and close, the
 * registry's answer, a mailbox look's answer, a routed delivery, a deadline) runs on its
 * {@link SerialExecutor}, one at a time, so nothing needs a lock; what other threads read (the state,
 * the token) is volatile. Its parts: {@link JettySocket} (the transport), {@link SocketFrames} (the
 * client's frames), {@link SocketOutput} (the send queue, and the messages waiting for acks, which
 * settle end to end: see {@link WriteLedger}), {@link MailboxLooks}, {@link SocketEntry} (the registry
 * entry and upstream lane) and {@link SocketDeadlines} (each deadline with one handler, in {@link #on},
 * looked at by the node's one timer). {@link SocketClose} lists every close.
 *
 * <h2>States</h2>
 * <ol>
 *   <li>{@code HANDSHAKEN}: the upgrade was accepted and the socket holds room on the node; if it does
 *       not open within the open deadline, the room goes back.</li>
 *   <li>{@code REGISTERING}: open; its registry entry is being written. Nothing is routed to it yet.</li>
 *   <li>{@code CATCHING_UP}: registered and listed for its user, {@code connection_established} sent and
 *       the {@code connected} event on its way; the mailbox's messages are written at once, oldest
 *       first, and routed ones are held.</li>
 *   <li>{@code SETTLING}: the catch-up is written, and {@code caught_up} (with the count of mailbox messages
 *       it wrote) after it; for {@link SocketTimings#secondLook}, and until that frame is out, it holds what comes
 *       (routed, or found by the mailbox's second look): a message parked while the catch-up read still
 *       turns up, and nothing live overtakes it.</li>
 *   <li>{@code LIVE}: what was held is written in accept order, then every message as it comes; later
 *       looks as {@link MailboxLooks} says.</li>
 *   <li>{@code CLOSING}: the socket closed (or the node is closing it): it takes nothing, and what it
 *       held or its client had not acked goes back to whoever handed it over. Its {@code disconnected}
 *       event goes out, and only then its registry entry goes, so a node that dies first leaves the entry
 *       for the cleanup, which reports the socket {@code node_lost}.</li>
 *   <li>{@code CLOSED}: its entry is gone (or given up on); the node forgets the socket.</li>
 * </ol>
 */
public final class Connection {
  private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
  /** How long a socket at its age limit waits for its queue to be written before it is closed anyway. */
  private static final long FLUSH_PATIENCE = TimeUnit.SECONDS.toNanos(5);
  /** What {@link #release} stops: every deadline but liveness, a slow consumer's cut and the removal. */
  private static final List<Name> STOPPED_ON_RELEASE =
      List.of(Name.EXPIRY, Name.LOOK, Name.CLAIMS_LOOK, Name.UNACKED, Name.RETIRE);

  /** Where a socket is in its life; see the class doc. */
  public enum State { HANDSHAKEN, REGISTERING, CATCHING_UP, SETTLING, LIVE, CLOSING, CLOSED }

  private final NodeSockets node;
  private final String connectionId;
  private final SerialExecutor events = new SerialExecutor();
  private final SocketDeadlines deadlines = new SocketDeadlines();
  private final SocketEntry entry;
  /** The token the socket holds now (the handshake's, or the last renewal's). */
  private volatile VerifiedToken token;
  private volatile State state = State.HANDSHAKEN;

  // touched on events only
  private SocketTransport transport;
  /** Made when the socket opens. */
  private SocketOutput out;
  private SocketFrames frames;
  /** Made when the socket is registered. */
  private MailboxLooks looks;
  private boolean roomHeld = true;
  private boolean socketClosed;
  /** Closed by the node (drain, fencing, a disconnect) before it opened: the close its client gets. */
  private SocketClose refusal;

  /** A socket whose upgrade was just accepted; it holds room for its user on the node from now on. */
  Connection(NodeSockets node, VerifiedToken token, String connectionId, Instant handshakeStart) {
    this.node = node;
    this.connectionId = connectionId;
    this.token = token;
    this.entry = new SocketEntry(this, node, deadlines, handshakeStart);
    deadlines.set(Name.OPEN, node.nanoTime() + node.limits().openDeadline().toNanos());
    deadlines.rearm(name -> true);
    node.hub().track(this);
  }

  public String connectionId() {
    return connectionId;
  }

  public String userId() {
    return token.userId();
  }

  public State state() {
    return state;
  }

  // ---- what the node hands the socket (any thread): each becomes an event ----

  /**
   * A routed message: written now when live, else once it is; completes when settled: acked by the
   * client, or, once this socket has left its user's ack quorum (see {@link WriteLedger}), when written.
   * {@code handBack} routes it again, for a copy settled that way which the client then never acked
   * before the socket closed.
   */
  public CompletableFuture<SocketOutcome> deliver(RelayMessage message, Runnable handBack) {
    SocketWrite w = new SocketWrite();
    events.execute(() -> {
      if (state == State.CATCHING_UP || state == State.SETTLING) {
        looks.hold(message, w, handBack);
      } else {
        w.follow(write(message, handBack));
      }
    });
    return w.settled();
  }

  /** A routed message whose hand-back nobody watches; for tests. */
  CompletableFuture<SocketOutcome> deliver(RelayMessage message) {
    return deliver(message, () -> { });
  }

  /** Closes the socket; what it holds goes back to whoever handed it over at once. */
  void close(SocketClose close) {
    events.execute(() -> {
      if (state == State.HANDSHAKEN) {
        refusal = close;
        releaseRoom();
        finish();
        return;
      }
      release();
      closeTransport(close);
    });
  }

  /** Called by the node's timer with the node's time: posts an event once a deadline has passed. */
  void tick(long now) {
    if (deadlines.due(now)) {
      events.execute(this::deadlines);
    }
  }

  /** The token the socket holds now: the handshake's, or the last renewal's. */
  VerifiedToken token() {
    return token;
  }

  /** What the socket writes; made when it opens. */
  SocketOutput output() {
    return out;
  }

  // ---- the events: the socket's life ----

  /** The transport opened. */
  void open(SocketTransport opened) {
    transport = opened;
    if (state != State.HANDSHAKEN) {
      opened.close(refusal != null ? refusal : SocketClose.OPENED_TOO_LATE);
      return;
    }
    state = State.REGISTERING;
    long now = node.nanoTime();
    out = new SocketOutput(opened, node.limits(), timings(), events,
        () -> events.execute(() -> tooSlow(SocketClose.TOO_SLOW)), node.metrics()::ackQuorumLeft, node.hub().memory());
    frames = new SocketFrames(this, node, opened, out, entry, events);
    node.opened();
    deadlines.clear(Name.OPEN);
    Instant at = node.clock().instant();
    deadlines.set(Name.EXPIRY, SocketDeadlines.until(now, Duration.between(at, token.expiresAt())));
    deadlines.set(Name.PING, now + node.limits().pingInterval().toNanos());
    deadlines.set(Name.RETIRE, now + timings().drawAge().toNanos());
    entry.registerInTurn(this::registered);
    reschedule();
  }

  /** The registry write answered: the socket is listed and catches up, unless {@link SocketEntry#registered} says no. */
  private void registered(Throwable error) {
    if (!entry.registered(error, state == State.REGISTERING, socketClosed)) {
      return;
    }
    LOG.info("connection {} open for user {}", connectionId, Pseudonyms.user(userId()));
    state = State.CATCHING_UP;
    node.hub().list(this);
    // on the lane first: a publish the client sends once it hears of the socket goes after connected
    entry.announced();
    node.upstream().connected(entry.lane(), entry.socket(), entry.connectedAt());
    send(ServerFrames.connectionEstablished(connectionId, userId(), entry.socket().nodeId(), node.clock().instant()))
        .thenRun(() -> {
          node.metrics().connectionAttempt(ConnectionOutcome.ACCEPTED);
          node.metrics().connectionTime(Duration.between(entry.handshakeStart(), node.clock().instant()));
        });
    looks = new MailboxLooks(this, node, deadlines);
    looks.look();
  }

  /** The catch-up is written, and {@code caught_up} offered after it. */
  void settling() {
    state = State.SETTLING;
  }

  /** Ends the settling window and writes what was held back, in accept order. */
  void goLive() {
    if (state != State.SETTLING || looks.tally().waiting(() -> events.execute(this::goLive))) {
      return;
    }
    state = State.LIVE;
    for (MailboxLooks.Held h : looks.release()) {
      h.write().follow(write(h.message(), h.handBack()));
    }
    looks.lookAfter(MailboxLooks.Next.LATE, timings().lateLook().minus(timings().secondLook()));
  }

  /** Whatever deadlines have passed, each by its handler, in the table's order. */
  private void deadlines() {
    long now = node.nanoTime();
    for (Name name : SocketDeadlines.NAMES) {
      if (deadlines.passed(name, now)) {
        on(name, now);
      }
    }
    reschedule();
  }

  private void on(Name name, long now) {
    switch (name) {
      case OPEN -> {
        LOG.info("connection {} of user {} never opened: its room is given back", connectionId, loggedUser());
        releaseRoom();
        finish();
      }
      case DISCONNECT -> {
        deadlines.clear(name);
        transport.disconnect();
      }
      case EXPIRY -> {
        deadlines.clear(name);
        closeFor(SocketClose.TOKEN_EXPIRED, "its token expired");
      }
      case PING -> ping(now);
      case UNACKED -> out.unackedCheck(now, deadlines);
      case RETIRE -> retireAtAge(now);
      case CLAIMS_LOOK, LOOK -> looks.due(name);
      case REMOVE -> {
        deadlines.clear(name);
        entry.remove();
      }
    }
  }

  /** Pings a socket that was heard from lately; drops one silent for two intervals (it cannot close cleanly). */
  private void ping(long now) {
    if (transport.ping(now, node.limits().deadAfter().toNanos())) {
      deadlines.set(Name.PING, now + node.limits().pingInterval().toNanos());
    } else {
      deadlines.clear(Name.PING);
      LOG.info("connection {} of user {} answered no ping: dropped", connectionId, loggedUser());
    }
  }

  /**
   * The socket reached the age drawn for it: it is closed with 1012 once what it was handed is written
   * (at most {@link #FLUSH_PATIENCE} later), so that its client reconnects before Cloud Run cuts it.
   */
  private void retireAtAge(long now) {
    if (out.unwritten() > 0 && now - deadlines.at(Name.RETIRE) < FLUSH_PATIENCE) {
      return; // looked at again at the next tick (the deadline stays passed)
    }
    deadlines.clear(Name.RETIRE);
    node.metrics().socketRetiredAtAge();
    closeFor(SocketClose.AGE_LIMIT, "reached its age limit");
  }

  /** The node passed its memory budget, and this socket holds the most of it: closed as a slow one (1013). */
  void shed() {
    events.execute(() -> tooSlow(SocketClose.SHED));
  }

  private void tooSlow(SocketClose close) {
    if (!isOpen()) {
      return;
    }
    closeFor(close, close == SocketClose.SHED ? "holds the most of the node's memory budget"
        : "does not keep up with its messages");
    // a consumer that reads nothing never takes the close frame: free what it pins, re-route what it missed
    deadlines.set(Name.DISCONNECT, node.nanoTime() + timings().slowConsumerGrace().toNanos());
    reschedule();
  }

  /** Closes the socket because it {@code did} something: it takes nothing more, and its client is told. */
  private void closeFor(SocketClose close, String did) {
    LOG.info("connection {} of user {} {}: closed", connectionId, loggedUser(), did);
    release();
    closeTransport(close);
  }

  /** The transport reported the close: the room goes back, then the events and the registry as the states say. */
  void closedBySocket(int statusCode) {
    if (socketClosed) {
      return;
    }
    socketClosed = true;
    releaseRoom();
    release();
    deadlines.clear(Name.DISCONNECT);
    deadlines.clear(Name.PING);
    reschedule();
    LOG.info("connection {} closed for user {} with code {}", connectionId, loggedUser(), statusCode);
    try {
      entry.closed(statusCode, hasOpened());
    } finally {
      if (hasOpened()) {
        node.closed(); // counted last, so the drain sees its disconnected event under way
      }
    }
  }

  /**
   * Takes nothing more, and hands back what it held or the client had not acked, whoever handed it over
   * routes it again: held messages, and unacked ones written within the unacked window.
   */
  private void release() {
    if (state == State.CLOSING || state == State.CLOSED) {
      return;
    }
    State was = state;
    state = State.CLOSING;
    if (was.compareTo(State.CATCHING_UP) >= 0) {
      node.hub().unlist(this);
    }
    if (looks != null) {
      looks.dropHeld();
    }
    if (out != null) {
      out.closed(node.nanoTime());
    }
    STOPPED_ON_RELEASE.forEach(deadlines::clear); // pings go on until the close is in: a dead peer is dropped
    reschedule();
  }

  /** The client's frames; made when the socket opens. */
  SocketFrames frames() {
    return frames;
  }

  /** The socket is done with: the node forgets it. */
  void finish() {
    state = State.CLOSED;
    deadlines.stop();
    node.hub().forget(this);
  }

  private void releaseRoom() {
    if (roomHeld) {
      roomHeld = false;
      node.hub().release(userId());
    }
  }

  /** A renewal's answer: the expiry moves to the new token's, and the client hears either way. */
  void renewed(TokenRenewal.Outcome outcome) {
    if (!isOpen()) {
      return;
    }
    outcome.expiresAt().ifPresent(at -> {
      deadlines.set(Name.EXPIRY, SocketDeadlines.until(node.nanoTime(), Duration.between(node.clock().instant(), at)));
      token = new VerifiedToken(userId(), at, outcome.issuedAt());
      reschedule();
    });
    send(outcome.frame());
  }

  SocketWrite write(RelayMessage message, Runnable handBack) {
    if (!isOpen() || state.compareTo(State.CATCHING_UP) < 0) {
      return SocketWrite.done(SocketOutcome.NO_SOCKET);
    }
    long unackedCheck = deadlines.at(Name.UNACKED);
    SocketWrite w = out.message(message, handBack, node.nanoTime(), deadlines);
    if (deadlines.at(Name.UNACKED) != unackedCheck) {
      reschedule(); // the one deadline a write may move
    }
    return w;
  }

  /** Writes a frame that is not a message (connection_established, pong, error, caught_up). */
  CompletableFuture<Void> send(String frame) {
    if (!isOpen()) {
      return CompletableFuture.failedFuture(new IllegalStateException("socket closed"));
    }
    return out.frame(frame);
  }

  /**
   * A registry or mailbox call of this socket: the socket stops waiting after the registry deadline (the
   * call itself goes on), and its outcome (its value, or why it failed) comes back as an event.
   */
  <T> void answered(CompletableFuture<T> call, BiConsumer<T, Throwable> outcome) {
    call.copy().orTimeout(timings().registryDeadline().toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((v, failed) -> events.execute(() -> outcome.accept(v, failed)));
  }

  SerialExecutor events() {
    return events;
  }

  /** The timer looks for the earliest deadline that counts: a claims look only once live. */
  void reschedule() {
    if (state == State.CLOSED) {
      deadlines.stop();
    } else {
      deadlines.rearm(name -> name != Name.CLAIMS_LOOK || state == State.LIVE);
    }
  }

  /** It opened: it was counted open, its send queue made and its registry write sent. */
  private boolean hasOpened() {
    return out != null;
  }

  boolean isOpen() {
    return hasOpened() && !socketClosed && state != State.CLOSING && state != State.CLOSED;
  }

  void closeTransport(SocketClose close) {
    if (transport != null && !socketClosed) {
      transport.close(close);
    }
  }

  private SocketTimings timings() {
    return node.timings();
  }

  /** The user as log lines show it ({@link Pseudonyms}): never the id itself. */
  private String loggedUser() {
    return Pseudonyms.user(userId());
  }
}
