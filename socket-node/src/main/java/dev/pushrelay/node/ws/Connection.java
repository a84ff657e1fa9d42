package dev.pushrelay.node.ws;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.metrics.ConnectionOutcome;
import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.auth.TokenRenewal;
import dev.pushrelay.node.auth.VerifiedToken;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.upstream.UpstreamAnswer;
import dev.pushrelay.node.upstream.UpstreamLane;
import dev.pushrelay.node.util.SerialExecutor;
import dev.pushrelay.pubsub.UpstreamMessages;
import dev.pushrelay.registry.ConnectionRecord;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket on this node, from its handshake to the removal of its registry entry: its Jetty
 * endpoint, its state, its deadlines and its messages. Every event of the socket (a Jetty callback, the
 * registry's answer, a mailbox message, a routed delivery, a client ack, a deadline) runs on its
 * {@link SerialExecutor}, one at a time, so nothing here needs a lock; what other threads read
 * ({@link #state}) is volatile.
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
 *   <li>{@code LIVE}: what was held is written in accept order, then every message as it comes. It
 *       looks at the mailbox once more at the late look, again after a look that failed, and when a
 *       claim of another socket that it could not share runs out (that socket died holding it).</li>
 *   <li>{@code CLOSING}: the socket closed (or the node is closing it): it takes nothing, and what it
 *       held or its client had not acked goes back to whoever handed it over. Its {@code disconnected}
 *       event goes out, and only then its registry entry goes, so a node that dies first leaves the entry
 *       for the cleanup, which reports the socket {@code node_lost}.</li>
 *   <li>{@code CLOSED}: its entry is gone (or given up on); the node forgets the socket.</li>
 * </ol>
 *
 * <p>Acknowledgement is end to end ({@link WriteLedger}): a message written here is settled when the
 * client acks it; the Pub/Sub delivery or mailbox entry is let go only then. The socket is also held to
 * its limits: the inbound rate limit (refused frames, then 1008), frames over 16 KiB refused as
 * {@code too_large}, binary frames closed with 1003, the token's expiry (1008), a slow consumer (1013,
 * then disconnected), and liveness (pinged every interval, dropped when silent for two). Its deadlines
 * are fields looked at by the node's one timer ({@link NodeSockets}), not scheduled tasks. A token
 * renewed in band ({@code auth}) moves the expiry deadline; {@link TokenRenewal} checks it off the
 * socket's events and hands the answer back as one event.
 */
public final class Connection implements Session.Listener.AutoDemanding {
  private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
  private static final long NEVER = Long.MAX_VALUE;
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  /** Longer than any socket lives; a token valid for longer has no expiry deadline. */
  private static final Duration FOREVER = Duration.ofDays(365 * 100L);
  /** How long after another socket's claim runs out this socket looks for it. */
  private static final Duration CLAIM_MARGIN = Duration.ofSeconds(1);
  /** How long a socket at its age limit waits for its queue to be written before it is closed anyway. */
  private static final long FLUSH_PATIENCE = TimeUnit.SECONDS.toNanos(5);
  /** The largest client message read at all; a longer one is closed with 1009. */
  public static final int MAX_MESSAGE_BYTES = 64 * 1024;

  /** Where a socket is in its life; see the class doc. */
  public enum State { HANDSHAKEN, REGISTERING, CATCHING_UP, SETTLING, LIVE, CLOSING, CLOSED }

  /** A message handed to the socket: {@code written} once the frame is out, {@code settled} once acked. */
  public record Write(CompletableFuture<SocketOutcome> written, CompletableFuture<SocketOutcome> settled) {
    static Write done(SocketOutcome outcome) {
      CompletableFuture<SocketOutcome> f = CompletableFuture.completedFuture(outcome);
      return new Write(f, f);
    }

    Write() {
      this(new CompletableFuture<>(), new CompletableFuture<>());
    }

    /** Completes this as {@code from} completes. */
    void follow(Write from) {
      pipe(from.written(), written);
      pipe(from.settled(), settled);
    }
  }

  /** A message waiting for the socket to go live; {@code handBack} routes a routed one again. */
  private record Held(RelayMessage message, Write write, Runnable handBack) {}

  /** Which mailbox look the look deadline starts. */
  private enum Look { RETRY, SECOND, LATE }

  private final NodeSockets node;
  private final String connectionId;
  private final String userId;
  /** The user as log lines show it ({@link Pseudonyms}): never the id itself. */
  private final String loggedUser;
  private final Instant tokenExpiresAt;
  /** When the upgrade request arrived, for {@code websocket.connection.time}. */
  private final Instant handshakeStart;
  private final SerialExecutor events = new SerialExecutor();
  private final InboundRateLimit rateLimit;
  /** The text message arriving in fragments; Jetty threads only, one frame at a time. */
  private final TextAssembly assembly = new TextAssembly(MAX_MESSAGE_BYTES);
  /** Pongs the node's pings asked for and the client has not sent yet: those are free. */
  private final AtomicInteger pongsOwed = new AtomicInteger();
  private volatile boolean binaryRefused;
  private final WriteLedger ledger = new WriteLedger();
  private final CatchUpTally tally = new CatchUpTally();
  private volatile State state = State.HANDSHAKEN;
  private volatile Session session;
  /** When the client was last heard from (any frame, pong included); Jetty threads write it. */
  private volatile long lastHeard;
  /** The earliest of the deadlines below: the timer posts an event only once it has passed. */
  private volatile long nextDue;
  private volatile boolean closingForAbuse;

  // touched on events only
  private OutboundQueue queue;
  private List<Held> held;
  private UpstreamLane upstream;
  /** Set once registered: who the backend hears of, since when. */
  private UpstreamMessages.Socket socket;
  private Instant connectedAt;
  private boolean roomHeld = true;
  private boolean registering;
  /** Closed by the node (drain, fencing, a disconnect) before it opened: with this code, and its reason. */
  private boolean refusedByNode;
  private int refusedCode;
  private String refusedReason;
  private boolean announced;
  private boolean socketClosed;
  private boolean dropped;
  private int catchUpAttempts;
  /** Later looks that failed in a row. */
  private int lookFailures;
  /** A later look is under way: the next waits for its answer. */
  private boolean looking;
  private int removalAttempts;
  private Look look;
  private long openBy;
  private long expiresAt = NEVER;
  /** The {@code iat} of the token the socket holds now (the handshake's, or the last renewal's). */
  private volatile Optional<Instant> issuedAt;
  private long pingAt = NEVER;
  private long lookAt = NEVER;
  /**
   * A look of a live socket for what another socket's claim (or a failed look) left: at the moment the
   * earliest such claim runs out, or after a failed look. Not counted before the socket is live.
   */
  private long claimsLookAt = NEVER;
  private long unackedCheckAt = NEVER;
  private long disconnectAt = NEVER;
  private long removeAt = NEVER;
  /** When the socket has lived long enough and is closed with 1012 (see {@link SocketTimings#oldestAge}). */
  private long retireAt = NEVER;

  /** A socket whose upgrade was just accepted; it holds room for its user on the node from now on. */
  Connection(NodeSockets node, VerifiedToken token, String connectionId, Instant handshakeStart) {
    this.node = node;
    this.connectionId = connectionId;
    this.userId = token.userId();
    this.loggedUser = Pseudonyms.user(userId);
    this.tokenExpiresAt = token.expiresAt();
    this.issuedAt = token.issuedAt();
    this.handshakeStart = handshakeStart;
    long now = node.nanoTime();
    this.rateLimit = new InboundRateLimit(node.limits().inboundFramesPerSecond(), node.limits().inboundFrameBurst(),
        now);
    this.openBy = now + node.limits().openDeadline().toNanos();
    this.nextDue = openBy;
    node.hub().track(this);
  }

  public String connectionId() {
    return connectionId;
  }

  public String userId() {
    return userId;
  }

  public State state() {
    return state;
  }

  /** Past its first mailbox catch-up (settling or live): later looks read only what is still waiting. */
  public boolean caughtUp() {
    State s = state;
    return s == State.SETTLING || s == State.LIVE;
  }

  // ---- Jetty's callbacks (Jetty threads): each becomes an event ----

  @Override
  public void onWebSocketOpen(Session session) {
    UpgradeRelease.release(session); // the HTTP/1 upgrade Jetty would keep for the socket's life: ~5 KB
    this.session = session;
    events.execute(this::opened);
  }

  /**
   * Every text frame is an event, and is counted against the rate limit there, in arrival order: an ack
   * of a message this socket was written gives its token back before the next frame is counted, however
   * busy the socket's events are when the acks come (a client acking a catch-up burst is never abuse).
   * Each fragment of a message counts, by its size: a fragment is counted when it comes, the message
   * (and its last fragment) when it is whole. A message over 64 KiB in all is closed with 1009, as a
   * frame over that is by Jetty.
   */
  @Override
  public void onWebSocketPartialText(String fragment, boolean last) {
    long at = node.nanoTime();
    lastHeard = at;
    int bytes = utf8Length(fragment);
    Optional<String> whole;
    try {
      whole = assembly.add(fragment, bytes, last);
    } catch (TextAssembly.TooBigException e) {
      close(StatusCode.MESSAGE_TOO_LARGE, "text message too large");
      return;
    }
    int cost = InboundRateLimit.cost(bytes);
    if (whole.isPresent()) {
      events.execute(() -> received(whole.get(), at, cost));
    } else {
      events.execute(() -> admit(at, cost));
    }
  }

  /**
   * Binary frames are not part of the protocol: closed with 1003 (unsupported data), as RFC 6455 says, at
   * the first fragment.
   */
  @Override
  public void onWebSocketPartialBinary(ByteBuffer payload, boolean last, Callback callback) {
    callback.succeed();
    lastHeard = node.nanoTime();
    if (!binaryRefused) {
      binaryRefused = true;
      close(StatusCode.BAD_DATA, "binary frames are not supported; send JSON text frames");
    }
  }

  /** Overridden so that pings count against the rate limit; an admitted ping is answered here. */
  @Override
  public void onWebSocketPing(ByteBuffer payload) {
    Session s = session;
    long at = node.nanoTime();
    lastHeard = at;
    if (s != null && admit(at, 1) == InboundRateLimit.Verdict.ADMIT) {
      s.sendPong(payload, Callback.NOOP);
    }
  }

  /** A pong answers one of the node's pings for free; one that answers none counts as any frame. */
  @Override
  public void onWebSocketPong(ByteBuffer payload) {
    long at = node.nanoTime();
    lastHeard = at;
    if (pongsOwed.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
      admit(at, 1);
    }
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason) {
    events.execute(() -> socketClosed(statusCode));
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // the close that follows every error does the cleanup
  }

  // ---- what the node hands the socket (any thread): each becomes an event ----

  /**
   * A message from the mailbox: written now while catching up, ahead of anything routed meanwhile;
   * while settling, held with the routed ones and written in accept order when the socket goes live.
   */
  public Write catchUp(RelayMessage message) {
    Write w = new Write();
    events.execute(() -> {
      if (state == State.SETTLING) {
        hold(message, w, null);
      } else {
        Write out = write(message, null);
        if (state == State.CATCHING_UP) {
          tally.wrote(out);
        }
        w.follow(out);
      }
    });
    return w;
  }

  /**
   * A routed message: written now when live, else once it is; completes when settled: acked by the
   * client, or, once this socket has left its user's ack quorum (see {@link WriteLedger}), when written.
   * {@code handBack} routes it again, for a copy settled that way which the client then never acked
   * before the socket closed.
   */
  public CompletableFuture<SocketOutcome> deliver(RelayMessage message, Runnable handBack) {
    Write w = new Write();
    events.execute(() -> {
      if (state == State.CATCHING_UP || state == State.SETTLING) {
        hold(message, w, handBack);
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

  /**
   * A look of this socket claimed entries after the socket had stopped waiting for it: one more look
   * hands them over, as soon as the socket is live (a catch-up's own retry takes them before that).
   */
  public void lookSoon() {
    events.execute(() -> {
      if (open() && state.compareTo(State.CATCHING_UP) >= 0) {
        lookAgainAfter(Duration.ZERO);
      }
    });
  }

  /** Closes the socket with {@code code}; what it holds goes back to whoever handed it over at once. */
  void close(int code, String reason) {
    events.execute(() -> {
      if (state == State.HANDSHAKEN) {
        refusedByNode = true;
        refusedCode = code;
        refusedReason = reason;
        releaseRoom();
        finish();
        return;
      }
      release();
      closeSession(code, reason);
    });
  }

  /** Called by the node's timer with the node's time: posts an event once a deadline has passed. */
  void tick(long now) {
    if (passed(now, nextDue)) {
      nextDue = NEVER; // one event per passing, however many ticks come before it runs
      events.execute(this::deadlines);
    }
  }

  // ---- the events ----

  private void opened() {
    Session s = session;
    if (state != State.HANDSHAKEN) {
      if (refusedByNode) {
        s.close(refusedCode, refusedReason, Callback.NOOP);
      } else {
        s.close(StatusCode.TRY_AGAIN_LATER, "handshake took too long, connect again", Callback.NOOP);
      }
      return;
    }
    state = State.REGISTERING;
    long now = node.nanoTime();
    lastHeard = now;
    queue = new OutboundQueue((text, written, failed) -> s.sendText(text, Callback.from(written, failed)),
        node.limits().outboundFrames(), node.limits().outboundChars(), () -> events.execute(this::tooSlow));
    node.opened();
    openBy = NEVER;
    connectedAt = node.clock().instant();
    expiresAt = expiryAfter(now, Duration.between(connectedAt, tokenExpiresAt));
    pingAt = now + node.limits().pingInterval().toNanos();
    retireAt = now + drawAge().toNanos();
    String nodeId = node.identity().id();
    socket = new UpstreamMessages.Socket(userId, connectionId, nodeId);
    registering = true;
    CompletableFuture<Void> write;
    try {
      write = node.registry().addConnection(new ConnectionRecord(connectionId, userId, nodeId, connectedAt));
    } catch (RuntimeException e) {
      write = CompletableFuture.failedFuture(e);
    }
    answered(write, (v, failed) -> registered(failed));
    reschedule();
  }

  /**
   * A registry or mailbox call of this socket: it gives up after the registry deadline, and its outcome
   * (its value, or why it failed) comes back as an event. A mailbox look that answers after that hands
   * nothing to the socket; what it claimed comes with the socket's next look, as its own.
   */
  private <T> void answered(CompletableFuture<T> call, BiConsumer<T, Throwable> outcome) {
    call.orTimeout(timings().registryDeadline().toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((v, failed) -> events.execute(() -> outcome.accept(v, failed)));
  }

  /** An age between the oldest and the newest a socket may reach, uniformly drawn. */
  private Duration drawAge() {
    long from = timings().oldestAge().toMillis();
    long to = timings().newestAge().toMillis();
    return Duration.ofMillis(from + java.util.concurrent.ThreadLocalRandom.current().nextLong(to - from + 1));
  }

  /** The token's deadline; one further off than a socket can live (a JWT with {@code exp} in ms) is none. */
  private static long expiryAfter(long now, Duration left) {
    if (left.isNegative()) {
      return now;
    }
    return left.compareTo(FOREVER) >= 0 ? NEVER : now + left.toNanos();
  }

  private void registered(Throwable error) {
    registering = false;
    if (error != null) {
      if (state == State.REGISTERING) {
        LOG.warn("connection {} could not be registered: {}", connectionId, error.toString());
        node.metrics().connectionAttempt(ConnectionOutcome.REGISTRY_FAILED);
        closeSession(StatusCode.SERVER_ERROR, "registry unavailable");
      } else if (socketClosed) {
        remove(); // the write may have landed after all: the delete is idempotent
      }
      return;
    }
    if (state != State.REGISTERING) {
      // closed while registering: the entry goes as soon as the socket's close is in
      if (socketClosed) {
        remove();
      }
      return;
    }
    if (!node.identity().serves(socket.nodeId())) {
      // registered under an incarnation that lost its lease meanwhile: the client registers again
      closeSession(StatusCode.SERVICE_RESTART, "node lost its lease, reconnect");
      return;
    }
    LOG.info("connection {} open for user {}", connectionId, loggedUser);
    state = State.CATCHING_UP;
    node.hub().list(this);
    // on the lane first: a publish the client sends once it hears of the socket goes after connected
    announced = true;
    node.upstream().connected(upstream(), socket, connectedAt);
    send(ServerFrames.connectionEstablished(connectionId, userId, socket.nodeId(), node.clock().instant()))
        .thenRun(() -> {
          node.metrics().connectionAttempt(ConnectionOutcome.ACCEPTED);
          node.metrics().connectionTime(Duration.between(handshakeStart, node.clock().instant()));
        });
    catchUp();
  }

  private void catchUp() {
    answered(node.catchUp().run(this), this::caughtUp);
  }

  private void caughtUp(Optional<Instant> lookAgainAt, Throwable failed) {
    if (state != State.CATCHING_UP) {
      return;
    }
    if (failed == null) {
      claimsRunOut(lookAgainAt);
      tally.offered(queue.offer(tally.frame(), false)); // after the catch-up's frames, of both lanes
      state = State.SETTLING;
      lookAfter(Look.SECOND, timings().secondLook());
      return;
    }
    if (catchUpAttempts >= timings().catchUpRetries().size()) {
      LOG.warn("mailbox catch-up of connection {} failed {} times, closing it so the client reconnects: {}",
          connectionId, catchUpAttempts + 1, failed.toString());
      closeSession(StatusCode.SERVER_ERROR, "mailbox unavailable, reconnect");
      return;
    }
    LOG.info("mailbox catch-up of connection {} failed, trying again: {}", connectionId, failed.toString());
    lookAfter(Look.RETRY, timings().catchUpRetries().get(catchUpAttempts++));
  }

  /**
   * One more mailbox look, then {@code after}, whether the look succeeded or not. A failed look is taken
   * again once live, after each pause of {@link SocketTimings#catchUpRetries}; past the last, the route
   * function's retries still hold whatever it would have found.
   */
  private void look(String which, Runnable after) {
    looking = true;
    answered(node.catchUp().run(this), (lookAgainAt, failed) -> {
      looking = false;
      if (failed != null) {
        LOG.info("{} mailbox look of connection {} failed: {}", which, connectionId, failed.toString());
        if (lookFailures < timings().catchUpRetries().size()) {
          lookAgainAfter(timings().catchUpRetries().get(lookFailures++));
        }
      } else {
        lookFailures = 0;
        claimsRunOut(lookAgainAt);
      }
      after.run();
    });
  }

  /** Another socket's claim runs out at {@code at}: this socket looks then, a second later (clocks differ). */
  private void claimsRunOut(Optional<Instant> at) {
    at.ifPresent(runsOut -> {
      Duration left = Duration.between(node.clock().instant(), runsOut).plus(CLAIM_MARGIN);
      lookAgainAfter(left.compareTo(CLAIM_MARGIN) < 0 ? CLAIM_MARGIN : left);
    });
  }

  private void lookAgainAfter(Duration after) {
    claimsLookAt = Math.min(claimsLookAt, node.nanoTime() + after.toNanos());
    reschedule();
  }

  /** Ends the settling window and writes what was held back, in accept order. */
  private void goLive() {
    if (state != State.SETTLING || tally.waiting(() -> events.execute(this::goLive))) {
      return;
    }
    state = State.LIVE;
    if (held != null) {
      List<Held> released = held;
      held = null;
      released.sort(Comparator.comparing(Held::message, RelayMessage.DELIVERY_ORDER));
      for (Held h : released) {
        h.write().follow(write(h.message(), h.handBack()));
      }
    }
    lookAfter(Look.LATE, timings().lateLook().minus(timings().secondLook()));
  }

  /**
   * A text message, counted against the rate limit as of its arrival at {@code cost} tokens (its last
   * fragment's); then answered or refused.
   */
  private void received(String text, long at, int cost) {
    InboundRateLimit.Verdict verdict = admit(at, cost);
    switch (verdict) {
      case ADMIT -> {
        if (utf8Length(text) > Limits.MAX_CLIENT_FRAME_BYTES) {
          refuse(text, "too_large", "frame over 16 KiB: not taken", true);
        } else {
          text(text);
        }
      }
      case REFUSE_AND_WARN, REFUSE -> refuse(text, "rate_limited", "too many frames, slow down",
          verdict == InboundRateLimit.Verdict.REFUSE_AND_WARN);
      default -> { }
    }
  }

  /**
   * Answers a client frame; unknown or malformed ones get an {@code error} frame. An ack of a message
   * this socket was written and had not acked yet is a frame the client owed: its token goes back.
   */
  private void text(String text) {
    if (!open()) {
      return;
    }
    try {
      ClientFrame frame = ClientFrame.parse(text);
      if (frame instanceof ClientFrame.Ping) {
        send(ServerFrames.pong(node.clock().instant()));
      } else if (frame instanceof ClientFrame.Ack ack) {
        if (ledger.acked(ack.id())) {
          rateLimit.refund();
        }
      } else if (frame instanceof ClientFrame.Publish publish) {
        publish(publish);
      } else if (frame instanceof ClientFrame.Auth auth) {
        node.renewal().renew(auth.token(), userId).thenAccept(outcome -> events.execute(() -> renewed(outcome)));
      }
    } catch (ClientFrame.BadFrameException e) {
      refuse(text, e.code(), e.getMessage(), true);
    }
  }

  /**
   * True when the token the socket holds was issued before {@code before} (or says nothing of when): a
   * revocation of its user covers it.
   */
  boolean heldTokenIssuedBefore(Instant before) {
    return issuedAt.map(iat -> iat.isBefore(before)).orElse(true);
  }

  /** A renewal's answer: the expiry moves to the new token's, and the client hears either way. */
  private void renewed(TokenRenewal.Outcome outcome) {
    if (!open()) {
      return;
    }
    outcome.expiresAt().ifPresent(at -> {
      expiresAt = expiryAfter(node.nanoTime(), Duration.between(node.clock().instant(), at));
      issuedAt = outcome.issuedAt();
      reschedule();
    });
    send(outcome.frame());
  }

  /** Sends a client's publish upstream and answers it once Pub/Sub has taken it (or could not). */
  private void publish(ClientFrame.Publish frame) {
    if (!announced) {
      node.metrics().upstreamRefused("unavailable");
      send(UpstreamAnswer.refused("unavailable", "wait for connection_established, then send it again")
          .frame(frame.id()));
      return;
    }
    node.upstream().publish(upstream(), socket, frame)
        .thenAccept(answer -> events.execute(() -> send(answer.frame(frame.id()))));
  }

  /**
   * A client frame refused before it was handled ({@code code}: bad_frame, rate_limited, too_large): a
   * publish is answered with its id, so that its sender knows it may send it again; any other frame gets
   * the error frame only when {@code warn}.
   */
  private void refuse(String text, String code, String message, boolean warn) {
    if (!open()) {
      return;
    }
    Optional<String> id = text.contains("\"publish\"") ? ClientFrame.publishIdOf(text) : Optional.empty();
    if (id.isPresent()) {
      node.metrics().upstreamRefused(code);
      send(ServerFrames.error(code, id.get(), message));
    } else if (warn) {
      send(ServerFrames.error(code, message));
    }
  }

  private void tooSlow() {
    if (!open()) {
      return;
    }
    LOG.info("connection {} of user {} does not keep up with its messages: closed", connectionId, loggedUser);
    release();
    closeSession(StatusCode.TRY_AGAIN_LATER, "too slow, outbound queue full");
    // a consumer that reads nothing never takes the close frame: free what it pins, re-route what it missed
    disconnectAt = node.nanoTime() + timings().slowConsumerGrace().toNanos();
    reschedule();
  }

  /** Whatever deadlines have passed. */
  private void deadlines() {
    long now = node.nanoTime();
    if (state == State.HANDSHAKEN) {
      if (passed(now, openBy)) {
        LOG.info("connection {} of user {} never opened: its room is given back", connectionId, loggedUser);
        releaseRoom();
        finish();
        return;
      }
    } else if (!socketClosed) {
      if (passed(now, disconnectAt)) {
        disconnectAt = NEVER;
        session.disconnect();
      }
      if (passed(now, expiresAt)) {
        expiresAt = NEVER;
        LOG.info("connection {} of user {}: token expired", connectionId, loggedUser);
        closeSession(StatusCode.POLICY_VIOLATION, "token expired");
      }
      if (passed(now, pingAt)) {
        ping(now);
      }
      if (passed(now, unackedCheckAt)) {
        unackedCheck(now);
      }
      if (passed(now, retireAt)) {
        retireAtAge(now);
      }
      if (state == State.LIVE && passed(now, claimsLookAt) && !looking) {
        claimsLookAt = NEVER;
        look("claims", () -> { });
      }
      if (passed(now, lookAt) && !looking) {
        lookAt = NEVER;
        switch (look) {
          case RETRY -> {
            if (state == State.CATCHING_UP) {
              catchUp();
            }
          }
          case SECOND -> {
            if (state == State.SETTLING) {
              look("second", this::goLive);
            }
          }
          case LATE -> {
            if (state == State.LIVE) {
              look("late", () -> { });
            }
          }
        }
      }
    }
    if (state == State.CLOSING && passed(now, removeAt)) {
      removeAt = NEVER;
      remove();
    }
    reschedule();
  }

  /**
   * Settles what waited for its ack past the unacked window, and leaves the ack quorum when a routed
   * message waited past the quorum bound; looks again when the next of either can pass.
   */
  private void unackedCheck(long now) {
    ledger.expire(now - timings().unackedWindow().toNanos());
    if (ledger.leaveQuorumIfBehind(now - timings().ackQuorum().toNanos())) {
      node.metrics().ackQuorumLeft();
    }
    long gating = ledger.oldestGating();
    if (ledger.unackedCount() == 0) {
      unackedCheckAt = NEVER;
    } else if (gating != Long.MAX_VALUE) {
      unackedCheckAt = Math.min(gating + timings().ackQuorum().toNanos(), now + SECOND);
    } else {
      unackedCheckAt = now + SECOND;
    }
  }

  /**
   * The socket reached the age drawn for it: it is closed with 1012 once what it was handed is written
   * (at most {@link #FLUSH_PATIENCE} later), so that its client reconnects before Cloud Run cuts it.
   */
  private void retireAtAge(long now) {
    if (queue.unwritten() > 0 && now - retireAt < FLUSH_PATIENCE) {
      return; // looked at again at the next tick (retireAt stays passed)
    }
    retireAt = NEVER;
    LOG.info("connection {} reached its age limit: closed so that it reconnects", connectionId);
    node.metrics().socketRetiredAtAge();
    release();
    closeSession(StatusCode.SERVICE_RESTART, "connection age limit, reconnect");
  }

  /** Pings a socket that was heard from lately; drops one silent for two intervals (it cannot close cleanly). */
  private void ping(long now) {
    Session s = session;
    if (now - lastHeard > node.limits().deadAfter().toNanos()) {
      pingAt = NEVER;
      if (!dropped) {
        dropped = true;
        LOG.info("connection {} of user {} answered no ping: dropped", connectionId, loggedUser);
        s.disconnect();
      }
      return;
    }
    pingAt = now + node.limits().pingInterval().toNanos();
    pongsOwed.updateAndGet(n -> Math.min(n + 1, SocketLimits.MISSED_PINGS));
    s.sendPing(ByteBuffer.allocate(0), Callback.NOOP);
  }

  /** Jetty reported the close: the room goes back, then the events and the registry as the states say. */
  private void socketClosed(int statusCode) {
    if (socketClosed) {
      return;
    }
    socketClosed = true;
    releaseRoom();
    release();
    disconnectAt = NEVER;
    pingAt = NEVER;
    LOG.info("connection {} closed for user {} with code {}", connectionId, loggedUser, statusCode);
    try {
      afterClose(statusCode);
    } finally {
      if (hasOpened()) {
        node.closed(); // counted last, so the drain sees its disconnected event under way
      }
    }
  }

  /** The disconnected event, then the registry entry; or whatever of the two this socket got to. */
  private void afterClose(int statusCode) {
    if (registering) {
      return; // the registry's answer finishes it
    }
    if (announced) {
      node.upstream().disconnected(upstream(), socket, connectedAt, statusCode)
          .whenComplete((v, failed) -> events.execute(() -> {
            if (failed == null) {
              remove();
            } else {
              // given up, or the node stopped first: the entry stays, and the cleanup of this node reports
              // the socket as node_lost
              finish();
            }
          }));
    } else if (hasOpened()) {
      remove(); // registered, or its write timed out and may have landed after all
    } else {
      finish();
    }
  }

  /** Removes the registry entry, trying again while the registry does not answer. */
  private void remove() {
    answered(node.registry().removeConnections(List.of(connectionId)), (v, failed) -> {
      if (failed == null) {
        finish();
      } else if (removalAttempts < timings().removalRetries().size()) {
        removeAt = node.nanoTime() + timings().removalRetries().get(removalAttempts++).toNanos();
        reschedule();
      } else {
        LOG.warn("connection {} could not be removed from the registry: {}", connectionId, failed.toString());
        finish();
      }
    });
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
    if (held != null) {
      for (Held h : held) {
        h.write().written().complete(SocketOutcome.NO_SOCKET);
        h.write().settled().complete(SocketOutcome.NO_SOCKET);
      }
      held = null;
    }
    ledger.closed(node.nanoTime() - timings().unackedWindow().toNanos());
    expiresAt = NEVER; // pings go on until the close is in: a dead peer is still dropped
    lookAt = NEVER;
    claimsLookAt = NEVER;
    unackedCheckAt = NEVER;
    retireAt = NEVER;
    reschedule();
  }

  private void finish() {
    state = State.CLOSED;
    nextDue = NEVER;
    node.hub().forget(this);
  }

  private void releaseRoom() {
    if (roomHeld) {
      roomHeld = false;
      node.hub().release(userId, announced); // announced right after it was listed
    }
  }

  private Write write(RelayMessage message, Runnable handBack) {
    if (!open() || state.compareTo(State.CATCHING_UP) < 0) {
      return Write.done(SocketOutcome.NO_SOCKET);
    }
    String id = message.id();
    if (!ledger.firstWrite(id)) {
      CompletableFuture<SocketOutcome> first = ledger.waiting(id);
      if (first == null) {
        return Write.done(SocketOutcome.DUPLICATE_SUPPRESSED);
      }
      // its first copy waits for the ack: this one settles as that one does, not before
      return new Write(CompletableFuture.completedFuture(SocketOutcome.DUPLICATE_SUPPRESSED),
          first.thenApply(o -> o == SocketOutcome.NO_SOCKET ? o : SocketOutcome.DUPLICATE_SUPPRESSED));
    }
    // tracked from the moment it is handed to the socket, so a close racing the write still sees it
    CompletableFuture<SocketOutcome> settled = new CompletableFuture<>();
    String frame = ServerFrames.message(message);
    long now = node.nanoTime();
    ledger.track(id, settled, frame.length(), now, handBack);
    boolean settlesWhenWritten = handBack != null && ledger.outOfQuorum();
    long check = handBack != null && !settlesWhenWritten ? now + timings().ackQuorum().toNanos() : now + SECOND;
    if (unackedCheckAt == NEVER || check - unackedCheckAt < 0) {
      unackedCheckAt = check;
      reschedule();
    }
    CompletableFuture<SocketOutcome> out = queue.offer(frame, message.high()).handle((v, e) -> {
      if (e == null) {
        if (settlesWhenWritten) {
          events.execute(() -> ledger.writtenOut(id));
        }
        return SocketOutcome.DELIVERED;
      }
      events.execute(() -> ledger.notWritten(id));
      return SocketOutcome.NO_SOCKET;
    });
    return new Write(out, settled);
  }

  /** Writes a frame that is not a message (connection_established, pong, error). */
  private CompletableFuture<Void> send(String frame) {
    if (!open()) {
      return CompletableFuture.failedFuture(new IllegalStateException("socket closed"));
    }
    return queue.offer(frame, true);
  }

  private void hold(RelayMessage message, Write w, Runnable handBack) {
    if (held == null) {
      held = new ArrayList<>();
    }
    held.add(new Held(message, w, handBack));
  }

  private UpstreamLane upstream() {
    if (upstream == null) {
      upstream = new UpstreamLane();
    }
    return upstream;
  }

  private void lookAfter(Look which, Duration after) {
    look = which;
    lookAt = node.nanoTime() + after.toNanos();
    reschedule();
  }

  private void reschedule() {
    long due = Math.min(Math.min(openBy, expiresAt), Math.min(pingAt, lookAt));
    if (state == State.LIVE) {
      due = Math.min(due, claimsLookAt);
    }
    due = Math.min(due, Math.min(Math.min(unackedCheckAt, disconnectAt), Math.min(removeAt, retireAt)));
    if (state == State.CLOSED) {
      due = NEVER;
    }
    nextDue = due;
  }

  private static boolean passed(long now, long deadline) {
    return deadline != NEVER && now - deadline >= 0;
  }

  /** It opened: it was counted open, its send queue made and its registry write sent. */
  private boolean hasOpened() {
    return queue != null;
  }

  private boolean open() {
    return hasOpened() && !socketClosed && state != State.CLOSING && state != State.CLOSED;
  }

  private void closeSession(int code, String reason) {
    Session s = session;
    if (s != null && !socketClosed) {
      s.close(code, reason, Callback.NOOP);
    }
  }

  private SocketTimings timings() {
    return node.timings();
  }

  private InboundRateLimit.Verdict admit(long at, int cost) {
    InboundRateLimit.Verdict verdict = rateLimit.admit(at, cost);
    if (verdict == InboundRateLimit.Verdict.CLOSE && !closingForAbuse) {
      closingForAbuse = true;
      LOG.info("connection {} of user {} kept sending over its rate limit: closed", connectionId, loggedUser);
      events.execute(() -> closeSession(StatusCode.POLICY_VIOLATION, "rate limit exceeded"));
    }
    return verdict;
  }

  /** The frame's size in UTF-8 without encoding it; counted only when it could be over the limit. */
  static int utf8Length(String text) {
    if (text.length() * 3L <= Limits.MAX_CLIENT_FRAME_BYTES) {
      return text.length();
    }
    int bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (ch < 0x80) {
        bytes += 1;
      } else if (ch < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(ch)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  private static void pipe(CompletableFuture<SocketOutcome> from, CompletableFuture<SocketOutcome> to) {
    from.whenComplete((o, e) -> {
      if (e != null) {
        to.completeExceptionally(e);
      } else {
        to.complete(o);
      }
    });
  }

  /** Messages written and waiting for the client's ack; for tests. */
  int unackedCount() {
    return ledger.unackedCount();
  }
}
