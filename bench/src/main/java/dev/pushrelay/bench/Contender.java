package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A server measured in phases 2 and 3: our socket node or one of the npm peers. */
enum Contender {
  RELAY("relay", "our socket node (Jetty 12)"),
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
        throw new IllegalArgumentException("unknown server '" + part + "' (relay, ws, socketio)");
      }
      out.add(found);
    }
    return out;
  }
}
