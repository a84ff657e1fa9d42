package dev.pushrelay.mailbox;

import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;

/**
 * Where a paged catch-up goes on: after the entry of this {@code sentAt} and message id, in the order the
 * mailbox is read (oldest {@code sentAt} first, then by id).
 */
public record MailboxCursor(Instant sentAt, String id) implements Comparable<MailboxCursor> {
  private static final Comparator<MailboxCursor> ORDER = Comparator.comparing(MailboxCursor::sentAt)
      .thenComparing(MailboxCursor::id);

  public MailboxCursor {
    Objects.requireNonNull(sentAt, "sentAt");
    Objects.requireNonNull(id, "id");
  }

  @Override
  public int compareTo(MailboxCursor other) {
    return ORDER.compare(this, other);
  }
}
