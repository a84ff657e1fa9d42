package dev.pushrelay.node.upstream;

import dev.pushrelay.node.util.RecentIds;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * One socket's upstream publishes and events: they go to Pub/Sub one after the other, in the order
 * they came ({@code connected}, the client's publishes in the order it sent them, {@code disconnected}),
 * so that their ordering key, the connection id, keeps that order; a repeat of an id in
 * flight shares its answer, and a repeat of an id already accepted is answered at once without a
 * second publish. Thread-safe; the publishes themselves run outside its lock.
 */
public final class UpstreamLane {
  /** Ids accepted on this socket that a repeat is recognised by. */
  static final int REMEMBERED = 1024;
  /** Publishes of one socket in flight or waiting for the one before; more are refused as rate_limited. */
  static final int MAX_WAITING = 64;

  private static final CompletableFuture<?> DONE = CompletableFuture.completedFuture(null);

  private final RecentIds accepted = new RecentIds(REMEMBERED);
  /** Made at the first publish: most sockets never publish. */
  private Map<String, CompletableFuture<UpstreamAnswer>> inFlight;
  private CompletableFuture<?> tail = DONE;

  /**
   * The answer to publish {@code id}: {@code publish} is called once the socket's previous publish has
   * completed, unless the id was accepted already or is in flight.
   */
  CompletableFuture<UpstreamAnswer> submit(String id, Supplier<CompletableFuture<UpstreamAnswer>> publish) {
    CompletableFuture<UpstreamAnswer> answer;
    synchronized (this) {
      if (accepted.contains(id)) {
        return CompletableFuture.completedFuture(UpstreamAnswer.ACCEPTED);
      }
      if (inFlight == null) {
        inFlight = new HashMap<>();
      }
      CompletableFuture<UpstreamAnswer> pending = inFlight.get(id);
      if (pending != null) {
        return pending;
      }
      if (inFlight.size() >= MAX_WAITING) {
        return CompletableFuture.completedFuture(UpstreamAnswer.refused("rate_limited",
            "too many publishes waiting for Pub/Sub on this socket, slow down"));
      }
      answer = tail.handle((v, e) -> null).thenCompose(v -> publish.get());
      become(answer);
      inFlight.put(id, answer);
    }
    answer.whenComplete((a, e) -> settled(id, a != null && a.accepted()));
    return answer;
  }

  /** Whatever the lane takes next waits for {@code step} (a connection event) to end first, and for what came before. */
  synchronized void follow(CompletableFuture<?> step) {
    become(CompletableFuture.allOf(tail.handle((v, e) -> null), step.handle((v, e) -> null)));
  }

  /** The lane's new tail; once it ends with nothing after it, the lane holds none of the chain. */
  private void become(CompletableFuture<?> next) {
    tail = next;
    next.whenComplete((v, e) -> {
      synchronized (this) {
        if (tail == next) {
          tail = DONE;
        }
      }
    });
  }

  /** Ends once everything the lane has taken so far has ended, successfully or not. */
  synchronized CompletableFuture<Void> drained() {
    return tail.handle((v, e) -> null);
  }

  private synchronized void settled(String id, boolean ok) {
    inFlight.remove(id); // made by the submit that settles here
    if (ok) {
      accepted.add(id);
    }
  }

  /** Publishes in flight or waiting on this socket. */
  synchronized int waiting() {
    return inFlight == null ? 0 : inFlight.size();
  }
}
