package dev.pushrelay.node.delivery;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.mailbox.Claimed;
import dev.pushrelay.mailbox.Mailbox;
import dev.pushrelay.mailbox.MailboxCursor;
import dev.pushrelay.mailbox.ParkedMessage;
import dev.pushrelay.metrics.RelayMetrics;
import dev.pushrelay.model.DeadLetterReason;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.node.ws.MailboxLook;
import dev.pushrelay.node.ws.NodeSockets;
import dev.pushrelay.node.ws.SocketOutcome;
import dev.pushrelay.pubsub.RelayPublisher;
import dev.pushrelay.tracing.MessageTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Right after {@code connection_established}, and at each later look of the socket: claims the user's
 * parked messages and answers them in the order the socket writes them, {@code high} priority first,
 * then oldest {@code sentAt} first. Each claimed entry is then settled as the client
 * acks: marked delivered when acked (or taken as delivered once its unacked window ran out), put back to
 * pending when the socket closed first, so the next socket, or the route function's next retry, takes
 * it. An entry handed over twice (a later look finds the socket's own claim still open) is written once,
 * and both copies settle as that write does. An entry the user's sockets claimed {@link Mailbox#MAX_CLAIMS}
 * times without an ack goes to the dead-letter topic instead (reason {@code handed_back}), and its entry
 * becomes a tombstone the route function's retries find settled.
 */
public final class MailboxCatchUp implements NodeSockets.CatchUp {
  private static final Logger LOG = LoggerFactory.getLogger(MailboxCatchUp.class);
  /** How long a user's first delivered mark waits for others to go with it. */
  static final Duration MARK_DELAY = Duration.ofMillis(50);

  private final Mailbox mailbox;
  private final Clock clock;
  private final RelayMetrics metrics;
  private final MessageTracing tracing;
  private final RelayPublisher deadLetters;
  private final DeliveredMarks marks;

  /** As the node runs it: a user's delivered marks wait {@link #MARK_DELAY} to go together. */
  public static MailboxCatchUp forNode(Mailbox mailbox, Clock clock, RelayMetrics metrics, MessageTracing tracing,
      RelayPublisher deadLetters) {
    return new MailboxCatchUp(mailbox, clock, metrics, tracing, deadLetters,
        CompletableFuture.delayedExecutor(MARK_DELAY.toMillis(), TimeUnit.MILLISECONDS, Runnable::run));
  }

  /** Each delivered mark sent as its ack comes. */
  public MailboxCatchUp(Mailbox mailbox, Clock clock, RelayMetrics metrics, MessageTracing tracing,
      RelayPublisher deadLetters) {
    this(mailbox, clock, metrics, tracing, deadLetters, Runnable::run);
  }

  /**
   * {@code metrics} counts the drained messages and their latency from {@code sentAt}; {@code tracing}
   * adds each socket write to the trace the message was parked under; {@code deadLetters} takes the
   * entries handed back too often; {@code markLater} runs a user's first waiting delivered mark
   * ({@link DeliveredMarks}).
   */
  MailboxCatchUp(Mailbox mailbox, Clock clock, RelayMetrics metrics, MessageTracing tracing,
      RelayPublisher deadLetters, Executor markLater) {
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
    this.tracing = tracing;
    this.deadLetters = deadLetters;
    this.marks = new DeliveredMarks(mailbox, clock, metrics, markLater);
  }

  @Override
  public CompletableFuture<MailboxLook> look(String user, String connectionId, boolean caughtUp) {
    return answer(user, connectionId, caughtUp
        ? mailbox.claimNew(user, connectionId, clock.instant())
        : mailbox.claim(user, connectionId, clock.instant()));
  }

  @Override
  public CompletableFuture<Void> flush() {
    return marks.flushAll();
  }

  @Override
  public CompletableFuture<MailboxLook> next(String user, String connectionId, MailboxCursor after) {
    return answer(user, connectionId, mailbox.claimAfter(user, connectionId, clock.instant(), after));
  }

  /** A look's claims as the socket writes them; those for the dead-letter topic go there. */
  private CompletableFuture<MailboxLook> answer(String user, String connectionId, CompletableFuture<Claimed> claimed) {
    claimed.thenAccept(look -> look.handedBack().forEach(m -> deadLetter(user, m)));
    return claimed.thenApply(look -> {
      List<ParkedMessage> inOrder = new ArrayList<>(look.messages());
      if (!inOrder.isEmpty()) {
        LOG.debug("connection {} catches up on {}", connectionId,
            inOrder.stream().map(p -> p.message().id() + (p.claimed() ? "" : " (shared)")).toList());
      }
      inOrder.sort(Comparator.comparing(ParkedMessage::message, RelayMessage.DELIVERY_ORDER));
      List<MailboxLook.Found> found = new ArrayList<>(inOrder.size());
      for (ParkedMessage p : inOrder) {
        found.add(new MailboxLook.Found(p.message(), settlement(user, connectionId, p)));
      }
      return new MailboxLook(found, look.lookAgainAt(), look.next());
    });
  }

  /** What settles one entry with the outcome of the socket's write: its span, its metrics, its mark. */
  private MailboxLook.Settle settlement(String user, String connectionId, ParkedMessage p) {
    RelayMessage m = p.message();
    Span span = tracing.start("relay.deliver", SpanKind.CONSUMER, m.trace(), m.id());
    return (o, written) -> {
      span.setAttribute(MessageTracing.OUTCOME, o.name().toLowerCase(Locale.ROOT));
      span.setAttribute(MessageTracing.PATH, RelayMetrics.PATH_MAILBOX);
      span.end();
      OutcomeMetrics.record(metrics, o, Duration.between(m.sentAt(), clock.instant()), RelayMetrics.PATH_MAILBOX);
      if (p.claimed()) {
        settle(user, connectionId, m.id(), o, written);
      }
    };
  }

  /**
   * Publishes the dead letter, then marks the entry dead-lettered. A publish or mark that fails leaves the
   * claim to run out, and the look then (the catch-up is told when) tries again: a message may then be
   * dead-lettered twice, never lost.
   */
  private void deadLetter(String user, RelayMessage m) {
    deadLetters.deadLetter(m, DeadLetterReason.HANDED_BACK, "claimed " + Mailbox.MAX_CLAIMS
            + " times from the mailbox by the user's sockets and never acked")
        .thenCompose(id -> mailbox.deadLettered(user, m.id(), clock.instant()))
        .thenRun(() -> {
          metrics.deadLetter(DeadLetterReason.HANDED_BACK);
          LOG.info("mailbox entry {} of user {} dead-lettered: {}", m.id(), Pseudonyms.user(user),
              DeadLetterReason.HANDED_BACK.wireName());
        })
        .exceptionally(e -> {
          LOG.warn("mailbox entry {} of user {} not dead-lettered yet: {}", m.id(), Pseudonyms.user(user),
              e.toString());
          return null;
        });
  }

  private void settle(String user, String connectionId, String messageId, SocketOutcome outcome, boolean written) {
    LOG.debug("mailbox entry {} of user {} settled: {}", messageId, Pseudonyms.user(user), outcome);
    if (outcome != SocketOutcome.NO_SOCKET) {
      marks.mark(user, messageId);
      return;
    }
    mailbox.release(user, connectionId, List.of(messageId), written).exceptionally(e -> {
      // the claim runs out and the route function's next retry settles the entry instead
      LOG.warn("mailbox entry {} of user {} could not be settled: {}", messageId, Pseudonyms.user(user), e.toString());
      return null;
    });
  }
}
