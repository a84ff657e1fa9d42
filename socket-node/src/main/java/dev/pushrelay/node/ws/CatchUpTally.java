package dev.pushrelay.node.ws;

import dev.pushrelay.model.ServerFrames;
import java.util.concurrent.CompletableFuture;

/**
 * What a socket's mailbox catch-up wrote, for its {@code caught_up} frame: the messages it handed to the
 * socket while catching up (a repeat suppressed, or one the socket could not take, is not one), and the
 * frame itself once offered, so that nothing held back during the catch-up is written before it.
 */
final class CatchUpTally {
  private int written;
  private CompletableFuture<Void> frame;

  /** A mailbox message handed to the socket while catching up: counted unless it was not written. */
  void wrote(SocketWrite w) {
    SocketOutcome now = w.written().getNow(null);
    if (now == null || now == SocketOutcome.DELIVERED) {
      written++;
    }
  }

  /** The {@code caught_up} frame, with the count so far. */
  String frame() {
    return ServerFrames.caughtUp(written);
  }

  /** The frame was offered to the socket's queue; {@code out} completes once written (or not). */
  void offered(CompletableFuture<Void> out) {
    frame = out;
  }

  /**
   * True while the frame waits to be written: {@code then} runs once it is (or failed), and the caller
   * holds back what comes after it until then.
   */
  boolean waiting(Runnable then) {
    if (frame == null || frame.isDone()) {
      return false;
    }
    frame.whenComplete((v, e) -> then.run());
    return true;
  }
}
