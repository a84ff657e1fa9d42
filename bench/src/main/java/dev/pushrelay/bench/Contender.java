package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A server measured in phases 2 and 3: our socket node or one of the npm peers. */
enum Contender {
  RELAY("relay", "our socket node (Jetty 12)"),
  /** Our node again, with a client that offers {@code permessage-deflate} in its handshake as every browser does. */
  RELAY_BROWSER("relay-browser", "our socket node, client offers permessage-deflate (as browsers do)"),
  WS("ws", "Node `ws` peer"),
  SOCKETIO("socketio", "Socket.IO peer");

  private final String key;
  private final String label;

  Contender(String key, String label) {
    this.key = key;
    this.label = label;
  }

  /** The name in environment lists and in fanout.json. */
  String key() {
    return key;
  }

  String label() {
    return label;
  }

  /** Whether this contender is our socket node (with either client). */
  boolean relay() {
    return this == RELAY || this == RELAY_BROWSER;
  }

  /**
   * The handshake's {@code Sec-WebSocket-Extensions} offer: what Chromium and Firefox send, or none (the
   * plain Jetty client's default).
   */
  String extensionOffer() {
    return this == RELAY_BROWSER ? "permessage-deflate; client_max_window_bits" : "";
  }

  /** Socket.IO speaks Engine.IO packets over the socket; the others speak the relay's frames directly. */
  boolean socketIo() {
    return this == SOCKETIO;
  }

  /** The list started at its {@code run}-th element, so that no server always goes first (cold client, drift). */
  static List<Contender> rotated(List<Contender> contenders, int run) {
    List<Contender> out = new ArrayList<>(contenders);
    java.util.Collections.rotate(out, -(run % Math.max(1, out.size())));
    return out;
  }

  /** "relay,ws,socketio" in the order given. */
  static List<Contender> parse(String list) {
    List<Contender> out = new ArrayList<>();
    for (String part : list.split(",")) {
      String k = part.trim().toLowerCase(Locale.ROOT);
      if (k.isEmpty()) {
        continue;
      }
      Contender found = null;
      for (Contender c : values()) {
        if (c.key.equals(k)) {
          found = c;
        }
      }
      if (found == null) {
        throw new IllegalArgumentException("unknown server '" + part + "' (relay, relay-browser, ws, socketio)");
      }
      out.add(found);
    }
    return out;
  }
}
