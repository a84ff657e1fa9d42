package dev.pushrelay.mailbox;

import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.pubsub.RelayPublisher;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The way of a message whose user holds no socket that could take it: into the user's mailbox first,
 * then onto {@code relay-requests}, whose retries keep its dead-letter clock and look for a socket.
 * The send function takes it for a user with no live node, a node for a message whose socket is gone.
 * Parked before the send is answered (or the node lets go of its copy), the message is in the mailbox
 * when the user's next socket reads it, so that socket gets it in the catch-up, ahead of live traffic
 * and in accept order, instead of from a retry that may come after newer live messages. When the
 * mailbox does not answer, the message still goes on: the route function parks it.
 */
public final class ParkFirst {
  private static final Logger LOG = LoggerFactory.getLogger(ParkFirst.class);

  private final Mailbox mailbox;
  private final RelayPublisher publisher;
  private final Clock clock;

  public ParkFirst(Mailbox mailbox, RelayPublisher publisher, Clock clock) {
    this.mailbox = mailbox;
    this.publisher = publisher;
    this.clock = clock;
  }

  /**
   * Completes once Pub/Sub accepted the request. The message's trace context is kept with the entry and
   * goes on the request, with {@code extra} (the node a re-route comes from).
   */
  public CompletableFuture<Void> park(RelayMessage m, Map<String, String> extra) {
    return parkAll(List.of(m), x -> extra);
  }

  /**
   * {@link #park} for many messages, whose entries are written together (a dead node's backlog): completes
   * once Pub/Sub accepted every request; {@code extra} gives each message's extra attributes.
   */
  public CompletableFuture<Void> parkAll(List<RelayMessage> ms, Function<RelayMessage, Map<String, String>> extra) {
    List<CompletableFuture<ParkOutcome>> parked = ms.size() == 1
        ? List.of(mailbox.parkNew(ms.get(0), clock.instant()))
        : mailbox.parkAllNew(ms, clock.instant());
    List<CompletableFuture<String>> requests = new ArrayList<>(ms.size());
    for (int i = 0; i < ms.size(); i++) {
      RelayMessage m = ms.get(i);
      requests.add(parked.get(i).handle((outcome, e) -> {
        Map<String, String> request = new HashMap<>(extra.apply(m));
        request.put(MessageAttributes.NO_LIVE_NODE, "true");
        if (e != null) {
          LOG.info("message {} for user {} could not be parked first, the route function parks it: {}", m.id(),
              Pseudonyms.user(m.userId()), e.toString());
        } else if (outcome == ParkOutcome.PARKED) {
          request.put(MessageAttributes.PARKED, "true");
        }
        // no delivery attempt: the route function counts from 1
        return publisher.request(m, request);
      }).thenCompose(request -> request));
    }
    return CompletableFuture.allOf(requests.toArray(CompletableFuture[]::new));
  }

}
