package dev.pushrelay.ops;

import java.util.Optional;
import java.util.Set;

/**
 * Which dead letters an operation takes: every one, those of one reason, or the given relay message
 * ids. Replay and purge need one of them spelled out; nothing is selected by default.
 */
public record DeadLetterSelection(boolean all, Optional<String> reason, Set<String> messageIds) {
  public DeadLetterSelection {
    messageIds = Set.copyOf(messageIds);
    int given = (all ? 1 : 0) + (reason.isPresent() ? 1 : 0) + (messageIds.isEmpty() ? 0 : 1);
    if (given != 1) {
      throw new IllegalArgumentException("select exactly one of: --all, --reason REASON, or message ids");
    }
  }

  public static DeadLetterSelection everything() {
    return new DeadLetterSelection(true, Optional.empty(), Set.of());
  }

  public static DeadLetterSelection ofReason(String reason) {
    return new DeadLetterSelection(false, Optional.of(reason), Set.of());
  }

  public static DeadLetterSelection ofIds(Set<String> messageIds) {
    return new DeadLetterSelection(false, Optional.empty(), messageIds);
  }

  public boolean matches(DeadLetter d) {
    return all || reason.map(d.reason()::equals).orElse(false) || messageIds.contains(d.messageId());
  }
}
