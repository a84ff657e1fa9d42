package dev.pushrelay.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * One client socket of the load generator, as a real client behaves: it waits for
 * {@code connection_established}, acks every {@code message} frame, answers pings, and hands each
 * message id with its arrival time ({@link System#nanoTime()}) to the sink. Speaks the relay's frames
 * directly, or the same frames inside Socket.IO (Engine.IO v4) packets for the Socket.IO peer.
 *
 * <p>Message frames are recognised by their prefix and the id read by a string scan instead of a JSON
 * parse, so that the load generator spends as little of its core as possible: every server writes
 * {@code type} first and then {@code id}, and the ids are our own ({@code [a-z0-9-]}).
 */
public final class ClientSocket implements Session.Listener.AutoDemanding {
  /** Receives each message frame's id and arrival time, on a client I/O thread. */
  interface Sink {
    void message(String id, long arrivalNanos);
  }

  private static final String FRAME_MESSAGE = "{\"type\":\"message\",";
  private static final String FRAME_ESTABLISHED = "{\"type\":\"connection_established\",";
  private static final String SIO_MESSAGE = "42[\"message\",{\"type\":\"message\",";
  private static final String SIO_ESTABLISHED = "42[\"message\",{\"type\":\"connection_established\",";

  private final boolean socketIo;
  private final String token;
  private final Sink sink;
  /** Completes on {@code connection_established}; fails on a refusal or a close before it. */
  final CompletableFuture<Void> established = new CompletableFuture<>();
  /** Completes with the close code. */
  final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private volatile Session session;
  /** The extensions the server agreed to in its handshake answer, e.g. {@code [permessage-deflate]}. */
  volatile java.util.List<String> negotiatedExtensions = java.util.List.of();

  ClientSocket(boolean socketIo, String token, Sink sink) {
    this.socketIo = socketIo;
    this.token = token;
    this.sink = sink;
  }

  @Override
  public void onWebSocketOpen(Session session) {
    this.session = session;
    this.negotiatedExtensions = session.getUpgradeResponse().getExtensions().stream()
        .map(org.eclipse.jetty.websocket.api.ExtensionConfig::getName).toList();
  }

  @Override
  public void onWebSocketText(String text) {
    long now = System.nanoTime();
    if (socketIo) {
      socketIoPacket(text, now);
    } else if (text.startsWith(FRAME_MESSAGE)) {
      String id = idOf(text, FRAME_MESSAGE.length());
      sink.message(id, now);
      session.sendText("{\"type\":\"ack\",\"id\":\"" + id + "\"}", Callback.NOOP);
    } else if (text.startsWith(FRAME_ESTABLISHED)) {
      established.complete(null);
    } else if (text.startsWith("{\"type\":\"error\"")) {
      System.err.println("server error frame: " + text);
    }
  }

  private void socketIoPacket(String text, long now) {
    if (text.startsWith(SIO_MESSAGE)) {
      String id = idOf(text, SIO_MESSAGE.length());
      sink.message(id, now);
      session.sendText("42[\"ack\",{\"id\":\"" + id + "\"}]", Callback.NOOP);
    } else if (text.equals("2")) {
      session.sendText("3", Callback.NOOP); // Engine.IO ping → pong
    } else if (text.startsWith("0{")) {
      session.sendText("40{\"token\":\"" + token + "\"}", Callback.NOOP); // Engine.IO open → Socket.IO CONNECT
    } else if (text.startsWith(SIO_ESTABLISHED)) {
      established.complete(null);
    } else if (text.startsWith("44")) {
      established.completeExceptionally(new IllegalStateException("Socket.IO connect refused: " + text));
    }
  }

  private static String idOf(String text, int from) {
    int start = text.indexOf("\"id\":\"", from);
    if (start < 0) {
      throw new IllegalStateException("message frame without id: " + text);
    }
    start += 6;
    return text.substring(start, text.indexOf('"', start));
  }

  @Override
  public void onWebSocketPing(ByteBuffer payload) {
    Session s = session;
    if (s != null) {
      s.sendPong(payload, Callback.NOOP);
    }
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason) {
    established.completeExceptionally(new IllegalStateException("closed with " + statusCode + " " + reason
        + " before connection_established"));
    closed.complete(statusCode);
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    established.completeExceptionally(cause);
  }

  boolean open() {
    Session s = session;
    return s != null && s.isOpen();
  }

  void close() {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close(1000, "bench done", Callback.NOOP);
    }
  }

  void abort() {
    Session s = session;
    if (s != null) {
      s.disconnect();
    }
  }
}
