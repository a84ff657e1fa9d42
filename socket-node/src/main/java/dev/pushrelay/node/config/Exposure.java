package dev.pushrelay.node.config;

/**
 * What a node offers beyond sockets and its health checks, each a switch: a token in the
 * {@code access_token} query string ({@code RELAY_ALLOW_QUERY_TOKEN}: URLs end up in request logs,
 * Cloud Run's included), the demo page with its config and the JS client ({@code RELAY_SERVE_DEMO}:
 * they name the send URL and the node), and {@code /metrics} ({@code RELAY_SERVE_METRICS}: traffic
 * counters for anyone who asks; in the cloud metrics go out over OTLP). On in local mode, off
 * otherwise, unless a variable says so. {@code bindHost} ({@code RELAY_BIND_HOST}) is the interface the
 * node listens on, empty for every interface (Cloud Run needs that; {@code scripts/run-local.sh} gives
 * 127.0.0.1). {@code trustedProxyHops} ({@code RELAY_TRUSTED_PROXY_HOPS}) is how many
 * {@code X-Forwarded-For} hops, counted from the right, proxies in front of the node appended: the last
 * of them is the client address that the per-address handshake limit counts (Cloud Run's front end: 1;
 * 0: no proxy, the socket's peer address counts, as on the local stack).
 */
public record Exposure(boolean queryToken, boolean demoPage, boolean metrics, String bindHost, int trustedProxyHops) {
  /** The most hops a deployment may trust. */
  public static final int MAX_TRUSTED_PROXY_HOPS = 10;

  public Exposure {
    java.util.Objects.requireNonNull(bindHost, "bindHost");
    if (trustedProxyHops < 0 || trustedProxyHops > MAX_TRUSTED_PROXY_HOPS) {
      throw new IllegalArgumentException("trustedProxyHops must be 0 to " + MAX_TRUSTED_PROXY_HOPS);
    }
  }

  /** Everything on, no proxy: the local stack. */
  public static Exposure local() {
    return new Exposure(true, true, true, "", 0);
  }

  /** Everything off, behind Cloud Run's front end: a node in the cloud that no variable opened. */
  public static Exposure cloud() {
    return new Exposure(false, false, false, "", 1);
  }

  public static Exposure forMode(boolean localMode) {
    return localMode ? local() : cloud();
  }
}
