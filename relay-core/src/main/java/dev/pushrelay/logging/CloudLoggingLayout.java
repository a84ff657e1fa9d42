package dev.pushrelay.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One JSON object per line in Cloud Logging's structured format: {@code severity}, {@code message},
 * {@code time}, MDC entries as labels, and the trace id in the field Cloud Logging links.
 */
public final class CloudLoggingLayout extends LayoutBase<ILoggingEvent> {
  /** MDC key that holds the W3C trace id of the message being handled. */
  public static final String TRACE_ID = "trace_id";
  /**
   * Credentials that a library may put in a log line (Jetty logs the request URI of a failed
   * handshake, query string and all): their values never reach the log. Named ones (the query
   * parameter, the Authorization scheme, the {@code bearer.<token>} subprotocol, the API key header),
   * and any bare JWT: three base64url parts, the first a JSON header ({@code eyJ}).
   */
  private static final Pattern SECRETS = Pattern.compile(
      "(?i)(access_token=|bearer[\\s.]+|x-relay-api-key[\"':=\\s]+)[A-Za-z0-9._~+/=-]+"
          + "|\\beyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");

  private String projectId = System.getenv().getOrDefault("GOOGLE_CLOUD_PROJECT", "");

  @Override
  public String doLayout(ILoggingEvent event) {
    StringWriter out = new StringWriter(256);
    try (JsonGenerator g = JsonCodec.mapper().getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("severity", severity(event.getLevel()));
      String message = event.getFormattedMessage();
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        message = message + "\n" + ThrowableProxyUtil.asString(thrown);
      }
      g.writeStringField("message", redact(message));
      g.writeStringField("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
      g.writeStringField("logger", event.getLoggerName());
      Map<String, String> mdc = event.getMDCPropertyMap();
      String trace = mdc.get(TRACE_ID);
      if (trace != null) {
        g.writeStringField("logging.googleapis.com/trace", "projects/" + projectId + "/traces/" + trace);
      }
      if (mdc.keySet().stream().anyMatch(k -> !k.equals(TRACE_ID))) {
        g.writeObjectFieldStart("logging.googleapis.com/labels");
        for (Map.Entry<String, String> e : mdc.entrySet()) {
          if (!e.getKey().equals(TRACE_ID)) {
            g.writeStringField(e.getKey(), e.getValue());
          }
        }
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      return "{\"severity\":\"ERROR\",\"message\":\"log line could not be written\"}\n";
    }
    return out.append('\n').toString();
  }

  public void setProjectId(String projectId) {
    this.projectId = projectId;
  }

  /** The text with every token, bearer credential and API key value replaced. */
  public static String redact(String text) {
    return SECRETS.matcher(text).replaceAll("$1[redacted]");
  }

  private static String severity(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> "ERROR";
      case Level.WARN_INT -> "WARNING";
      case Level.INFO_INT -> "INFO";
      default -> "DEBUG";
    };
  }
}
