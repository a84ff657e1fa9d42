package dev.pushrelay.node.ws;

import dev.pushrelay.mailbox.MailboxCursor;
import dev.pushrelay.model.RelayMessage;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What one mailbox look of a socket found: the parked messages it claimed (or shares), in the order the
 * socket writes them, and when to look again (when a claim that another socket of the user holds runs
 * out; empty: no such claim). The socket writes them in one event. A catch-up's look that stopped at its
 * page's bound says where the rest waits ({@code next}).
 */
public record MailboxLook(List<Found> found, Optional<Instant> lookAgainAt, Optional<MailboxCursor> next) {
  /** A parked message, and what settles its mailbox entry with the outcome of the socket's write. */
  public record Found(RelayMessage message, Settle settle) {}

  /** Settles a found message's entry once its socket is done with it. */
  @FunctionalInterface
  public interface Settle {
    /** {@code outcome} of the write; {@code written}: whether its frame reached the client (it may be unacked). */
    void settled(SocketOutcome outcome, boolean written);
  }

  public MailboxLook {
    found = List.copyOf(found);
  }

  /** A look with nothing after it. */
  public MailboxLook(List<Found> found, Optional<Instant> lookAgainAt) {
    this(found, lookAgainAt, Optional.empty());
  }
}
