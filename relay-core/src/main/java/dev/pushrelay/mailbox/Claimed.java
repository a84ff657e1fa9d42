package dev.pushrelay.mailbox;

import dev.pushrelay.model.RelayMessage;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one mailbox look took for a socket.
 *
 * @param messages the messages handed to the socket, oldest first: claimed by it now, claimed by it
 *     earlier and not settled yet (a look whose answer came too late left them to the next one), or
 *     shared from another socket of the user
 * @param lookAgainAt when the earliest claim another socket of the user holds runs out: that socket
 *     settles its claims well before, so one still held then belongs to a socket or node that died, and
 *     a look at that moment takes it
 * @param handedBack messages the user's sockets claimed {@link Mailbox#MAX_CLAIMS} times without
 *     acking: claimed now by this look for the dead-letter topic, not handed to the socket
 * @param next present when the look stopped at its page's bound: the rest waits after this cursor, for
 *     {@link Mailbox#claimAfter}
 */
public record Claimed(List<ParkedMessage> messages, Optional<Instant> lookAgainAt, List<RelayMessage> handedBack,
    Optional<MailboxCursor> next) {
  public Claimed {
    messages = List.copyOf(messages);
    lookAgainAt = Objects.requireNonNullElse(lookAgainAt, Optional.empty());
    handedBack = List.copyOf(handedBack);
    next = Objects.requireNonNullElse(next, Optional.empty());
  }

  /** The messages handed over, the earliest of the other sockets' claims a look left, those for dead letters. */
  public static Claimed of(List<ParkedMessage> messages, List<Instant> heldUntil, List<RelayMessage> handedBack) {
    return new Claimed(messages, heldUntil.stream().min(Comparator.naturalOrder()), handedBack, Optional.empty());
  }

  /** The same look, which stopped at its page's bound: the rest waits after {@code cursor}. */
  public Claimed withNext(MailboxCursor cursor) {
    return new Claimed(messages, lookAgainAt, handedBack, Optional.of(cursor));
  }
}
