package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.config.SocketLimits;
import dev.pushrelay.node.config.SocketTimings;
import dev.pushrelay.node.ws.SocketDeadlines.Name;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * What one open socket writes: its send queue ({@link OutboundQueue}) and the ledger of the messages
 * written and waiting for the client's ack ({@link WriteLedger}), with the deadline that looks at them
 * ({@link Name#UNACKED}). Used on the socket's events only; the writes' outcomes come back as events.
 */
final class SocketOutput {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final OutboundQueue queue;
  private final WriteLedger ledger = new WriteLedger();
  private final Executor events;
  private final SocketTimings timings;
  private final Runnable quorumLeft;

  /** {@code overflowed} runs (once) when the client does not keep up; {@code quorumLeft} when it falls behind. */
  SocketOutput(SocketTransport transport, SocketLimits limits, SocketTimings timings, Executor events,
      Runnable overflowed, Runnable quorumLeft, NodeMemory memory) {
    this.queue = new OutboundQueue(transport, limits.outboundFrames(), limits.outboundChars(), overflowed, memory);
    this.events = events;
    this.timings = timings;
    this.quorumLeft = quorumLeft;
  }

  /**
   * Writes a message once per socket. A routed message ({@code handBack} not null) settles when acked,
   * or, once the socket has left its user's ack quorum, when written; a mailbox message when acked. A
   * repeat of a message still waiting for its ack settles as its first copy does.
   */
  SocketWrite message(RelayMessage message, Runnable handBack, long now, SocketDeadlines deadlines) {
    String id = message.id();
    if (!ledger.firstWrite(id)) {
      CompletableFuture<SocketOutcome> first = ledger.waiting(id);
      if (first == null) {
        return SocketWrite.done(SocketOutcome.DUPLICATE_SUPPRESSED);
      }
      return new SocketWrite(CompletableFuture.completedFuture(SocketOutcome.DUPLICATE_SUPPRESSED),
          first.thenApply(o -> o == SocketOutcome.NO_SOCKET ? o : SocketOutcome.DUPLICATE_SUPPRESSED));
    }
    // tracked from the moment it is handed to the socket, so a close racing the write still sees it
    CompletableFuture<SocketOutcome> settled = new CompletableFuture<>();
    String frame = ServerFrames.message(message);
    ledger.track(id, settled, frame.length(), now, handBack);
    boolean settlesWhenWritten = handBack != null && ledger.outOfQuorum();
    long check = handBack != null && !settlesWhenWritten ? now + timings.ackQuorum().toNanos() : now + SECOND;
    deadlines.setEarlier(Name.UNACKED, check);
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
    return new SocketWrite(out, settled);
  }

  /** A frame that is not a message (connection_established, pong, error, caught_up). */
  CompletableFuture<Void> frame(String text) {
    return queue.offer(text, true);
  }

  /**
   * A frame that goes behind every message offered before it, of both lanes ({@code caught_up}: nothing
   * the catch-up wrote may come after it).
   */
  CompletableFuture<Void> behindMessages(String text) {
    return queue.offer(text, false);
  }

  /** An ack: true when it was one the client owed (its rate-limit token goes back). */
  boolean acked(String id) {
    return ledger.acked(id);
  }

  /**
   * Settles what waited for its ack past the unacked window, and leaves the ack quorum when a routed
   * message waited past the quorum bound; sets {@link Name#UNACKED} for when the next of either can pass.
   */
  void unackedCheck(long now, SocketDeadlines deadlines) {
    ledger.expire(now - timings.unackedWindow().toNanos());
    if (ledger.leaveQuorumIfBehind(now - timings.ackQuorum().toNanos())) {
      quorumLeft.run();
    }
    long gating = ledger.oldestGating();
    if (ledger.unackedCount() == 0) {
      deadlines.clear(Name.UNACKED);
    } else if (gating != Long.MAX_VALUE) {
      deadlines.set(Name.UNACKED, Math.min(gating + timings.ackQuorum().toNanos(), now + SECOND));
    } else {
      deadlines.set(Name.UNACKED, now + SECOND);
    }
  }

  /** The socket closed at {@code now}: what it had not acked goes back, as {@link WriteLedger#closed} says. */
  void closed(long now) {
    ledger.closed(now - timings.unackedWindow().toNanos());
  }

  /** Frames handed to the queue and not written yet. */
  int unwritten() {
    return queue.unwritten();
  }

  /** Their characters. */
  long unwrittenChars() {
    return queue.unwrittenChars();
  }

  int unackedCount() {
    return ledger.unackedCount();
  }
}
