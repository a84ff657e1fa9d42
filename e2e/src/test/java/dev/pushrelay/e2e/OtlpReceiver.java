package dev.pushrelay.e2e;

import com.sun.net.httpserver.HttpServer;
import dev.pushrelay.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * A local OTLP/HTTP endpoint that keeps every span export it receives. The exports are protobuf; the
 * test needs no decoder: a trace id travels as its 16 raw bytes and the service name as its UTF-8
 * text, both found verbatim in the body of the export that holds the span.
 */
final class OtlpReceiver implements AutoCloseable {
  private final HttpServer server;
  private final List<byte[]> traceExports = new ArrayList<>();

  private OtlpReceiver(HttpServer server) {
    this.server = server;
  }

  static OtlpReceiver start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    OtlpReceiver receiver = new OtlpReceiver(server);
    server.createContext("/", exchange -> {
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      if (exchange.getRequestURI().getPath().equals("/v1/traces")) {
        synchronized (receiver.traceExports) {
          receiver.traceExports.add(body);
        }
      }
      exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.start();
    return receiver;
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Waits for an export from {@code serviceName} that holds a span of {@code traceId}. */
  void awaitSpans(byte[] traceId, String serviceName, Duration timeout) throws InterruptedException, TimeoutException {
    byte[] service = serviceName.getBytes(StandardCharsets.UTF_8);
    Await.until("a span of the trace from " + serviceName, timeout, () -> holdsSpan(traceId, service),
        () -> "none among " + exportCount() + " exports");
  }

  /** Whether an export so far holds both the trace id and the service name. */
  private boolean holdsSpan(byte[] traceId, byte[] service) {
    synchronized (traceExports) {
      return traceExports.stream().anyMatch(body -> indexOf(body, traceId) >= 0 && indexOf(body, service) >= 0);
    }
  }

  private int exportCount() {
    synchronized (traceExports) {
      return traceExports.size();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
