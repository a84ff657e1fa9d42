package dev.pushrelay.mailbox;

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
 */
public record Claimed(List<ParkedMessage> messages, Optional<Instant> lookAgainAt) {
  public Claimed {
    messages = List.copyOf(messages);
    lookAgainAt = Objects.requireNonNullElse(lookAgainAt, Optional.empty());
  }

  /** The messages handed over, and the earliest of the other sockets' claims a look left. */
  public static Claimed of(List<ParkedMessage> messages, List<Instant> heldUntil) {
    return new Claimed(messages, heldUntil.stream().min(Comparator.naturalOrder()));
  }
}
