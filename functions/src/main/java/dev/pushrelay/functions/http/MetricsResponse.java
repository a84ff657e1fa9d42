package dev.pushrelay.functions.http;

import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.metrics.Telemetry;
import java.io.IOException;
import java.io.OutputStream;

/**
 * {@code GET /metrics}: the function instance's instruments in Prometheus text format. The Functions
 * Framework serves one function per port, so each function answers it on its own port.
 */
public final class MetricsResponse {
  public static final String PATH = "/metrics";

  private MetricsResponse() {}

  public static boolean asked(HttpRequest request) {
    return request.getMethod().equals("GET") && PATH.equals(request.getPath());
  }

  public static void send(HttpResponse response, Telemetry telemetry) throws IOException {
    byte[] body = telemetry.scrape();
    response.setStatusCode(200);
    response.setContentType(telemetry.contentType());
    response.appendHeader("Cache-Control", "no-store");
    try (OutputStream out = response.getOutputStream()) {
      out.write(body);
    }
  }
}
