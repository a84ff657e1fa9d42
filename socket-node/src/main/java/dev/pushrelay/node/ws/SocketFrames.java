package dev.pushrelay.node.ws;

import dev.pushrelay.model.ClientFrame;
import dev.pushrelay.model.Limits;
import dev.pushrelay.model.ServerFrames;
import dev.pushrelay.node.upstream.UpstreamAnswer;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * What one open socket does with its client's frames: each is counted against the inbound rate limit
 * as of its arrival, then answered ({@code ping}, {@code ack}, {@code publish}, {@code auth}) or refused
 * with an {@code error} frame. Runs on the socket's events; answers that come later (an upstream
 * publish, a token renewal) come back as events.
 */
final class SocketFrames {
  private final Connection socket;
  private final NodeSockets node;
  private final SocketTransport transport;
  private final SocketOutput out;
  private final SocketEntry entry;
  private final Executor events;

  SocketFrames(Connection socket, NodeSockets node, SocketTransport transport, SocketOutput out, SocketEntry entry,
      Executor events) {
    this.socket = socket;
    this.node = node;
    this.transport = transport;
    this.out = out;
    this.entry = entry;
    this.events = events;
  }

  /** A fragment of a message, counted by its size as it came. */
  void fragment(long at, int cost) {
    transport.admit(at, cost);
  }

  /**
   * A text message, counted against the rate limit as of its arrival at {@code cost} tokens (its last
   * fragment's); then answered or refused.
   */
  void received(String text, long at, int cost) {
    InboundRateLimit.Verdict verdict = transport.admit(at, cost);
    switch (verdict) {
      case ADMIT -> {
        if (JettySocket.utf8Length(text) > Limits.MAX_CLIENT_FRAME_BYTES) {
          refuse(text, "too_large", "frame over 16 KiB: not taken", true);
        } else {
          answer(text);
        }
      }
      case REFUSE_AND_WARN, REFUSE -> refuse(text, "rate_limited", "too many frames, slow down",
          verdict == InboundRateLimit.Verdict.REFUSE_AND_WARN);
      default -> { }
    }
  }

  /**
   * Answers a client frame; unknown or malformed ones get an {@code error} frame. An ack of a message
   * this socket was written and had not acked yet is a frame the client owed: its token goes back.
   */
  private void answer(String text) {
    if (!socket.isOpen()) {
      return;
    }
    try {
      ClientFrame frame = ClientFrame.parse(text);
      if (frame instanceof ClientFrame.Ping) {
        socket.send(ServerFrames.pong(node.clock().instant()));
      } else if (frame instanceof ClientFrame.Ack ack) {
        if (out.acked(ack.id())) {
          transport.refund();
        }
      } else if (frame instanceof ClientFrame.Publish publish) {
        publish(publish);
      } else if (frame instanceof ClientFrame.Auth auth) {
        node.renewal().renew(auth.token(), socket.userId())
            .thenAccept(outcome -> events.execute(() -> socket.renewed(outcome)));
      }
    } catch (ClientFrame.BadFrameException e) {
      refuse(text, e.code(), e.getMessage(), true);
    }
  }

  /** Sends a client's publish upstream and answers it once Pub/Sub has taken it (or could not). */
  private void publish(ClientFrame.Publish frame) {
    if (!entry.isAnnounced()) {
      node.metrics().upstreamRefused("unavailable");
      socket.send(UpstreamAnswer.refused("unavailable", "wait for connection_established, then send it again")
          .frame(frame.id()));
      return;
    }
    node.upstream().publish(entry.lane(), entry.socket(), frame)
        .thenAccept(answer -> events.execute(() -> socket.send(answer.frame(frame.id()))));
  }

  /**
   * A client frame refused before it was handled ({@code code}: bad_frame, rate_limited, too_large): a
   * publish is answered with its id, so that its sender knows it may send it again; any other frame gets
   * the error frame only when {@code warn}.
   */
  private void refuse(String text, String code, String message, boolean warn) {
    if (!socket.isOpen()) {
      return;
    }
    Optional<String> id = text.contains("\"publish\"") ? ClientFrame.publishIdOf(text) : Optional.empty();
    if (id.isPresent()) {
      node.metrics().upstreamRefused(code);
      socket.send(ServerFrames.error(code, id.get(), message));
    } else if (warn) {
      socket.send(ServerFrames.error(code, message));
    }
  }
}
