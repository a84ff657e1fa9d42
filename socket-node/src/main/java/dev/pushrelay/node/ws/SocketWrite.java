package dev.pushrelay.node.ws;

import java.util.concurrent.CompletableFuture;

/** A message handed to a socket: {@code written} once the frame is out, {@code settled} once acked. */
record SocketWrite(CompletableFuture<SocketOutcome> written, CompletableFuture<SocketOutcome> settled) {
  static SocketWrite done(SocketOutcome outcome) {
    CompletableFuture<SocketOutcome> f = CompletableFuture.completedFuture(outcome);
    return new SocketWrite(f, f);
  }

  SocketWrite() {
    this(new CompletableFuture<>(), new CompletableFuture<>());
  }

  /** Completes this as {@code from} completes. */
  void follow(SocketWrite from) {
    pipe(from.written(), written);
    pipe(from.settled(), settled);
  }

  /** Completes both with {@code outcome}: the message never reached a socket. */
  void fail(SocketOutcome outcome) {
    written.complete(outcome);
    settled.complete(outcome);
  }

  private static void pipe(CompletableFuture<SocketOutcome> from, CompletableFuture<SocketOutcome> to) {
    from.whenComplete((o, e) -> {
      if (e != null) {
        to.completeExceptionally(e);
      } else {
        to.complete(o);
      }
    });
  }
}
