package dev.pushrelay.infra;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A Google REST API on 127.0.0.1 for running deploy scripts here (Firestore, Monitoring): every
 * request is recorded, with what {@code seen} said at the moment it arrived (for instance how many
 * traffic moves a fake gcloud had logged by then), and answered by the function the test gives.
 */
final class FakeApi implements AutoCloseable {
  record Request(String method, String path, String query, String authorization, String body, String seen) {}

  record Answer(int status, String body) {
    static Answer ok(String body) {
      return new Answer(200, body);
    }
  }

  private final HttpServer server;
  private final List<Request> requests = new ArrayList<>();

  FakeApi(Function<Request, Answer> answers, Supplier<String> seen) {
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext("/", exchange -> {
      try (exchange) {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Request r = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
            exchange.getRequestURI().getRawQuery(), exchange.getRequestHeaders().getFirst("Authorization"), body,
            seen.get());
        synchronized (requests) {
          requests.add(r);
        }
        Answer a = answers.apply(r);
        byte[] out = a.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(a.status(), out.length == 0 ? -1 : out.length);
        if (out.length > 0) {
          exchange.getResponseBody().write(out);
        }
      }
    });
    server.start();
  }

  /** host:port, as FIRESTORE_EMULATOR_HOST takes it. */
  String hostPort() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  /** The API root, as CLOUDSDK_API_ENDPOINT_OVERRIDES_* take it. */
  String root() {
    return "http://" + hostPort() + "/";
  }

  List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
