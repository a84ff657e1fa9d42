package dev.pushrelay.node.config;

/**
 * What a node offers beyond sockets and its health checks, each a switch: a token in the
 * {@code access_token} query string ({@code RELAY_ALLOW_QUERY_TOKEN}: URLs end up in request logs,
 * Cloud Run's included), the demo page with its config and the JS client ({@code RELAY_SERVE_DEMO}:
 * they name the send URL and the node), and {@code /metrics} ({@code RELAY_SERVE_METRICS}: traffic
 * counters for anyone who asks; in the cloud metrics go out over OTLP). On in local mode, off
 * otherwise, unless a variable says so. {@code bindHost} ({@code RELAY_BIND_HOST}) is the interface the
 * node listens on, empty for every interface (Cloud Run needs that; {@code scripts/run-local.sh} gives
 * 127.0.0.1).
 */
public record Exposure(boolean queryToken, boolean demoPage, boolean metrics, String bindHost) {
  public Exposure {
    java.util.Objects.requireNonNull(bindHost, "bindHost");
  }

  /** Listening on every interface. */
  public Exposure(boolean queryToken, boolean demoPage, boolean metrics) {
    this(queryToken, demoPage, metrics, "");
  }

  /** Everything on: the local stack. */
  public static Exposure local() {
    return new Exposure(true, true, true);
  }

  /** Everything off: a node in the cloud that no variable opened. */
  public static Exposure cloud() {
    return new Exposure(false, false, false);
  }

  public static Exposure forMode(boolean localMode) {
    return localMode ? local() : cloud();
  }
}
