package dev.pushrelay.functions.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.functions.HttpResponse;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Writes JSON answers and JSON errors, the same shape from every function. */
public final class JsonResponses {
  private JsonResponses() {}

  public static void send(HttpResponse response, int status, ObjectNode body) throws IOException {
    response.setStatusCode(status);
    response.setContentType("application/json; charset=utf-8");
    // never sniffed as HTML, never cached: an answer may name a user
    response.appendHeader("X-Content-Type-Options", "nosniff");
    response.appendHeader("Cache-Control", "no-store");
    try (OutputStream out = response.getOutputStream()) {
      out.write(JsonCodec.write(body).getBytes(StandardCharsets.UTF_8));
    }
  }

  /** {@code {"error": {"code": …, "message": …, "field": …}}}; {@code field} may be null. */
  public static void error(HttpResponse response, int status, String code, String message, String field)
      throws IOException {
    send(response, status, JsonCodec.error(code, message, field));
  }
}
