package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/** The bench's view of the stack as a user drives it: dev tokens, sockets, send requests, metrics. */
final class StackClient {
  private final BenchContext ctx;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  StackClient(BenchContext ctx) {
    this.ctx = ctx;
  }

  HttpClient http() {
    return http;
  }

  /** An HS256 token for {@code userId} from node 1's dev endpoint (local mode only). */
  String token(String userId) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ctx.node1Url() + "/dev/token?userId=" + userId))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("dev token: " + r.statusCode() + " " + r.body());
    }
    return JsonCodec.mapper().readTree(r.body()).path("token").asText();
  }

  /** A socket of {@code userId} on the node at {@code nodeUrl}; {@code onMessage} gets each message frame. */
  BenchSocket socket(String nodeUrl, String userId, BiConsumer<JsonNode, Long> onMessage) throws Exception {
    String ws = nodeUrl.replaceFirst("^http", "ws") + "/ws";
    return BenchSocket.connect(http, ws, token(userId), onMessage);
  }

  /** A valid {@code POST /v1/messages} to the send function at {@code sendUrl}. */
  static HttpRequest sendRequest(String sendUrl, String userId, String id) {
    return post(sendUrl, "\"userId\":\"" + userId + "\"", id);
  }

  /**
   * The same message addressed as a one-user fan-out ({@code userIds}): the send function hands it to the
   * route function, as before the direct route existed (the before/after of that change, in one run).
   */
  HttpRequest sendViaRouteFunction(String userId, String id) {
    return post(ctx.sendUrl(), "\"userIds\":[\"" + userId + "\"]", id);
  }

  private static HttpRequest post(String sendUrl, String recipient, String id) {
    String body = "{" + recipient + ",\"id\":\"" + id
        + "\",\"event\":\"bench\",\"data\":{\"text\":\"agent finished step 3\",\"n\":1}}";
    return HttpRequest.newBuilder(URI.create(sendUrl + "/v1/messages"))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  HttpRequest sendRequest(String userId, String id) {
    return sendRequest(ctx.sendUrl(), userId, id);
  }

  /** Sends and insists on 202. */
  void send(String userId, String id) throws IOException, InterruptedException {
    int status = http.send(sendRequest(userId, id), HttpResponse.BodyHandlers.discarding()).statusCode();
    if (status != 202) {
      throw new IllegalStateException("send answered " + status + " for " + id);
    }
  }

  /** One fan-out request to all of {@code userIds}; insists on 202. */
  void sendFanOut(java.util.List<String> userIds, String id) throws IOException, InterruptedException {
    String recipients = "\"userIds\":[" + String.join(",", userIds.stream().map(u -> "\"" + u + "\"").toList())
        + "]";
    int status = http.send(post(ctx.sendUrl(), recipients, id), HttpResponse.BodyHandlers.discarding()).statusCode();
    if (status != 202) {
      throw new IllegalStateException("fan-out send answered " + status + " for " + id);
    }
  }

  /** Prometheus text from {@code baseUrl/metrics}: every series summed per metric name, over all labels. */
  Map<String, Double> scrape(String baseUrl) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    Map<String, Double> m = new HashMap<>();
    for (String line : r.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String name = line.substring(0, brace >= 0 ? brace : space);
      m.merge(name, Double.parseDouble(line.substring(space + 1).trim()), Double::sum);
    }
    return m;
  }

  /** The route function's count of messages it parked in a mailbox (once per message). */
  double parkedTotal() throws IOException, InterruptedException {
    return scrape(ctx.routeUrl()).getOrDefault("relay_mailbox_parked_total", 0.0);
  }

  BenchContext context() {
    return ctx;
  }
}
