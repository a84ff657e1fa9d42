package dev.pushrelay.mailbox;

import dev.pushrelay.model.RelayMessage;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The mailbox seam: messages whose user held no socket when routed wait here, so the user's next
 * socket gets them right after {@code connection_established} instead of at the next retry. An
 * entry moves pending → claimed (a socket is writing it) → delivered, or pending → routed (a retry
 * sent it to a live socket); a message is either delivered or, on its last attempt, taken out for the
 * dead-letter topic — never both.
 */
public interface Mailbox {
  /** How recent another socket's claim must be for a newly registered socket to get the message too. */
  java.time.Duration SHARED_WINDOW = java.time.Duration.ofSeconds(10);

  /**
   * How many times the user's sockets may claim an entry without acking it. A socket that closes unacked
   * hands its claims back, and a claim whose socket died runs out; past this many claims the next look
   * takes the entry out for the dead-letter topic (reason {@code handed_back}) instead of handing it to a
   * socket again, so a client that connects, takes its backlog and closes without acking, over and over,
   * costs a bounded number of writes per message.
   */
  int MAX_CLAIMS = 5;
  /** An entry's states, as every mailbox writes them. */
  String STATE_PENDING = "pending";
  String STATE_CLAIMED = "claimed";
  String STATE_DELIVERED = "delivered";
  String STATE_DEAD_LETTERED = "dead_lettered";
  /** Routed to the user's live sockets by a retry: no look claims it, a catch-up shares it for a while. */
  String STATE_ROUTED = "routed";
  /** Who holds a {@link #STATE_ROUTED} entry, in place of a socket. */
  String ROUTE = "route";
  /** A claim older than this belongs to a socket or node that died mid catch-up. */
  java.time.Duration CLAIM_TIMEOUT = java.time.Duration.ofSeconds(30);

  /**
   * Records an attempt that found no socket, or looks whether an earlier one was settled. {@code attempt}
   * is the attempt number known to the caller: when {@code exact} (Pub/Sub's own {@code deliveryAttempt})
   * it is the count and an entry that already waits is not written again; otherwise (a count of one
   * function instance) the entry keeps the durable count, and the higher of the two wins. The message's
   * trace context is kept with a new entry for the socket write that drains it.
   */
  CompletableFuture<ParkOutcome> park(RelayMessage message, int attempt, boolean exact, int maxAttempts, Instant now);

  /**
   * Parks a message before its first delivery attempt (the sender found no socket, or a node lost the
   * socket): {@link ParkOutcome#PARKED} for a new entry, else what {@link #park} says of the one there.
   */
  default CompletableFuture<ParkOutcome> parkNew(RelayMessage message, Instant now) {
    return park(message, 0, true, Integer.MAX_VALUE, now);
  }

  /**
   * {@link #parkNew} for many messages at once (a dead node's backlog): each one's outcome, or failure,
   * of its own, in the order given; an implementation may send the writes together.
   */
  default List<CompletableFuture<ParkOutcome>> parkAllNew(List<RelayMessage> messages, Instant now) {
    return messages.stream().map(m -> parkNew(m, now)).toList();
  }

  /**
   * Records that a sender gave message id {@code id} for {@code userId}, with content whose fingerprint is
   * {@code fingerprint}, until {@code expiresAt} (the message's own end): says whether the id was seen
   * before, and with the same content or other. One write, and one read when the id was seen.
   */
  CompletableFuture<IdUse> recordId(String userId, String id, String fingerprint, Instant expiresAt);

  /** Drops the entry of a message, whatever its state (expired, or replayed from the dead letter); absent is fine. */
  CompletableFuture<Void> discard(String userId, String messageId);

  /**
   * Marks the entry of a message that a retry routed to the user's live sockets after all, if it is still
   * pending: it becomes {@link #STATE_ROUTED} at {@code now}. No look claims it, and a catch-up within
   * {@link #SHARED_WINDOW} shares it, so a socket whose catch-up read the mailbox just after the route
   * writes it in accept order, among the other parked messages, and drops the live copy that comes later
   * as a repeat (a deleted entry left that socket with the live copy alone, behind newer messages). A
   * later park of the message (a socket that closed on it unacked, a sender's retry) parks it afresh. An
   * entry a socket's catch-up claimed or wrote meanwhile stays, so that its tombstone settles the next
   * retry. Absent is fine.
   */
  CompletableFuture<Void> routedLive(String userId, String messageId, Instant now);

  /**
   * Claims the user's pending messages for one socket, oldest first. Messages another socket of the
   * same user claimed within {@link #SHARED_WINDOW} come along unclaimed: every socket the user holds
   * when a message is written gets it, also when two of them register at the same moment (two tabs
   * reconnecting after a deploy). Entries this socket claimed before and has not settled come again:
   * a look whose claims landed after the socket stopped waiting for it handed them to nobody. Claims of
   * other sockets that are neither shared nor run out yet are left, and the answer says when the
   * earliest of them runs out. An implementation may answer a page (the oldest entries up to a bound of
   * its own), with {@link Claimed#next} saying where the rest waits.
   */
  CompletableFuture<Claimed> claim(String userId, String connectionId, Instant now);

  /**
   * The next page of a catch-up whose last look stopped at its bound ({@link Claimed#next}): the same,
   * for the entries after {@code after} only. One that never pages answers the whole claim again.
   */
  default CompletableFuture<Claimed> claimAfter(String userId, String connectionId, Instant now,
      MailboxCursor after) {
    return claim(userId, connectionId, now);
  }

  /**
   * The same for a socket that caught up already and looks again: only entries still pending or
   * claimed matter then, and delivered ones need not be read.
   */
  default CompletableFuture<Claimed> claimNew(String userId, String connectionId, Instant now) {
    return claim(userId, connectionId, now);
  }

  /** Marks claimed messages as written to the socket. */
  CompletableFuture<Void> delivered(String userId, List<String> messageIds, Instant now);

  /**
   * Puts messages that {@code connectionId} holds claimed back to pending: its socket closed before the
   * client acked them. An entry no longer claimed by that socket (delivered meanwhile, released already,
   * taken by another socket after the claim ran out) is left as it is. A claim whose message never reached
   * the client ({@code written} false: the socket closed before the frame was out, or the look answered
   * after the socket stopped waiting) is not counted toward {@link #MAX_CLAIMS}: only a client that was
   * handed the message and left without acking it uses up a claim.
   */
  CompletableFuture<Void> release(String userId, String connectionId, List<String> messageIds, boolean written);

  /**
   * Marks an entry a look claimed for the dead-letter topic as dead-lettered, once its dead letter is out:
   * a tombstone, as a delivered entry leaves, so that the route function's retries of the message find it
   * settled ({@link ParkOutcome#ALREADY_DEAD_LETTERED}) instead of parking it anew.
   */
  CompletableFuture<Void> deadLettered(String userId, String messageId, Instant now);
}
