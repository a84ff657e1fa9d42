package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * A WebSocket client (JDK java.net.http) that time-stamps each frame with System.nanoTime() on arrival
 * and hands (frame, nanos) to a listener; it acks every message frame as a real client does.
 */
final class BenchSocket implements AutoCloseable {
  private final WebSocket ws;
  private final CompletableFuture<String> closed;
  final CompletableFuture<Long> established = new CompletableFuture<>();

  private BenchSocket(WebSocket ws, CompletableFuture<String> closed) {
    this.ws = ws;
    this.closed = closed;
  }

  static BenchSocket connect(HttpClient http, String wsUrl, String token, BiConsumer<JsonNode, Long> onMessage)
      throws Exception {
    CompletableFuture<Long> est = new CompletableFuture<>();
    CompletableFuture<String> closedBy = new CompletableFuture<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final StringBuilder buf = new StringBuilder();
      /** The JDK client allows one send in flight: each ack waits for the one before it. */
      private CompletableFuture<?> lastAck = CompletableFuture.completedFuture(null);

      @Override
      public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
        long now = System.nanoTime();
        buf.append(data);
        if (last) {
          String text = buf.toString();
          buf.setLength(0);
          try {
            JsonNode frame = JsonCodec.mapper().readTree(text);
            String type = frame.path("type").asText();
            if ("connection_established".equals(type)) {
              est.complete(now);
            } else if ("message".equals(type)) {
              onMessage.accept(frame, now);
              String ack = "{\"type\":\"ack\",\"id\":" + JsonCodec.mapper().writeValueAsString(frame.path("id").asText())
                  + "}";
              lastAck = lastAck.handle((v, e) -> null).thenCompose(v -> w.sendText(ack, true));
            }
          } catch (Exception e) {
            System.err.println("bad frame: " + e);
          }
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
        closedBy.complete(statusCode + " " + reason);
        est.completeExceptionally(new IllegalStateException("closed before established: " + statusCode + " " + reason));
        return null;
      }

      @Override
      public void onError(WebSocket w, Throwable error) {
        closedBy.complete("error " + error);
        est.completeExceptionally(error);
      }
    };
    WebSocket ws = http.newWebSocketBuilder()
        .buildAsync(URI.create(wsUrl + "?access_token=" + token), listener).get(20, TimeUnit.SECONDS);
    BenchSocket s = new BenchSocket(ws, closedBy);
    est.whenComplete((v, e) -> {
      if (e != null) {
        s.established.completeExceptionally(e);
      } else {
        s.established.complete(v);
      }
    });
    return s;
  }

  /** Empty while open; the close code and reason (or the error) once the server closed it or it failed. */
  java.util.Optional<String> closedBy() {
    return java.util.Optional.ofNullable(closed.getNow(null));
  }

  long awaitEstablished() throws Exception {
    return established.get(20, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    try {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      ws.abort();
    }
  }
}
