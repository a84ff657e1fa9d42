package dev.pushrelay.node.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.metrics.Telemetry;
import dev.pushrelay.model.Limits;
import dev.pushrelay.node.auth.DevTokens;
import dev.pushrelay.node.config.NodeConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.function.Supplier;
import java.time.Duration;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Plain HTTP on the node: {@code /healthz}, {@code /readyz}; when {@link dev.pushrelay.node.config.Exposure}
 * allows them, the demo page at {@code /}, its {@code /config.json}, the JavaScript client at
 * {@code /relay-client.js} and {@code /metrics} in Prometheus text format; in local mode only
 * {@code /dev/token?userId=…}.
 */
public final class NodeHttpHandler extends Handler.Abstract.NonBlocking {
  private final NodeConfig config;
  private final Supplier<String> nodeId;
  private final Readiness readiness;
  private final DevTokens devTokens;
  private final Clock clock;
  private final byte[] demoPage;
  private final byte[] clientScript;
  private final Telemetry telemetry;

  /** {@code nodeId}: the incarnation serving now; {@code telemetry} answers {@code GET /metrics}. */
  public NodeHttpHandler(NodeConfig config, Supplier<String> nodeId, Readiness readiness, Clock clock,
      Telemetry telemetry) {
    this.telemetry = telemetry;
    this.config = config;
    this.nodeId = nodeId;
    this.readiness = readiness;
    this.devTokens = new DevTokens(config.jwtSecret(), config.tokens().audience());
    this.clock = clock;
    this.demoPage = resource("/static/index.html");
    this.clientScript = resource("/static/relay-client.js");
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    boolean get = request.getMethod().equals("GET") || request.getMethod().equals("HEAD");
    if (!get) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      json(response, callback, 405, error("method_not_allowed", "allowed: GET"));
      return true;
    }
    switch (path) {
      case "/healthz" -> json(response, callback, 200, status("ok"));
      case "/readyz" -> ready(response, callback);
      case "/metrics" -> {
        if (config.exposure().metrics()) {
          write(response, callback, 200, telemetry.contentType(), telemetry.scrape());
        } else {
          json(response, callback, 404, error("not_found", "metrics are not served here (RELAY_SERVE_METRICS)"));
        }
      }
      case "/", "/index.html", "/relay-client.js", "/config.json" -> demo(path, response, callback);
      case "/dev/token" -> devToken(request, response, callback);
      default -> json(response, callback, 404, error("not_found", "no such resource"));
    }
    return true;
  }

  /** The demo page, its config and the JS client, when {@code RELAY_SERVE_DEMO} allows them. */
  private void demo(String path, Response response, Callback callback) {
    if (!config.exposure().demoPage()) {
      json(response, callback, 404, error("not_found", "the demo page is not served here (RELAY_SERVE_DEMO)"));
    } else if (path.equals("/relay-client.js")) {
      write(response, callback, 200, "text/javascript; charset=utf-8", clientScript);
    } else if (path.equals("/config.json")) {
      json(response, callback, 200, demoConfig());
    } else {
      write(response, callback, 200, "text/html; charset=utf-8", demoPage);
    }
  }

  private void ready(Response response, Callback callback) {
    Map<String, Boolean> checks = readiness.evaluate();
    boolean ok = !checks.containsValue(false);
    ObjectNode body = status(ok ? "ready" : "not_ready");
    ObjectNode c = body.putObject("checks");
    checks.forEach(c::put);
    body.put("nodeId", nodeId.get());
    json(response, callback, ok ? 200 : 503, body);
  }

  private void devToken(Request request, Response response, Callback callback) {
    if (!config.localMode()) {
      json(response, callback, 404, error("not_found", "dev tokens exist only in local mode"));
      return;
    }
    String userId = Request.extractQueryParameters(request).getValue("userId");
    if (userId == null || !Limits.USER_ID.matcher(userId).matches()) {
      json(response, callback, 400, error("invalid_request", "userId must be 1-128 characters of A-Z a-z 0-9 . _ : @ | + = -"));
      return;
    }
    ObjectNode body = JsonCodec.object();
    body.put("token", devTokens.mint(userId, clock.instant(), Duration.ofHours(1)));
    json(response, callback, 200, body);
  }

  private ObjectNode demoConfig() {
    ObjectNode body = JsonCodec.object();
    body.put("nodeId", nodeId.get());
    body.put("localMode", config.localMode());
    config.sendUrl().ifPresent(u -> body.put("sendUrl", u.toString()));
    return body;
  }

  private static ObjectNode status(String status) {
    ObjectNode body = JsonCodec.object();
    body.put("status", status);
    return body;
  }

  private static ObjectNode error(String code, String message) {
    return JsonCodec.error(code, message, null);
  }

  private static void json(Response response, Callback callback, int status, ObjectNode body) {
    write(response, callback, status, "application/json; charset=utf-8",
        JsonCodec.write(body).getBytes(StandardCharsets.UTF_8));
  }

  private static void write(Response response, Callback callback, int status, String type, byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  private static byte[] resource(String name) {
    try (InputStream in = NodeHttpHandler.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
