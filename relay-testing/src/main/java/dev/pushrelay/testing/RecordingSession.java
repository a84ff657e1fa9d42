package dev.pushrelay.testing;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * A Jetty WebSocket session for unit tests: always open, it records the text frames written to it
 * (each write succeeds at once), the close codes it is asked for, its pings and disconnects. Everything
 * else does nothing.
 */
public final class RecordingSession {
  private final List<String> sent = new CopyOnWriteArrayList<>();
  private final List<Integer> closes = new CopyOnWriteArrayList<>();
  private final AtomicInteger pings = new AtomicInteger();
  private volatile boolean holding;
  /** The writes held, in the order they were handed over. */
  private final java.util.Queue<Callback> held = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final AtomicInteger disconnects = new AtomicInteger();
  private final Session session = (Session) Proxy.newProxyInstance(RecordingSession.class.getClassLoader(),
      new Class<?>[] {Session.class}, (proxy, method, args) -> switch (method.getName()) {
        case "isOpen" -> true;
        case "sendText" -> {
          sent.add((String) args[0]);
          if (holding) {
            held.add((Callback) args[1]);
          } else {
            ((Callback) args[1]).succeed();
          }
          yield null;
        }
        case "close" -> {
          if (args != null && args.length == 3 && args[0] instanceof Integer code) {
            closes.add(code);
          }
          yield null;
        }
        case "sendPing" -> {
          pings.incrementAndGet();
          yield null;
        }
        case "disconnect" -> {
          disconnects.incrementAndGet();
          yield null;
        }
        case "hashCode" -> System.identityHashCode(proxy);
        case "equals" -> proxy == args[0];
        default -> null;
      });

  public Session session() {
    return session;
  }

  /** The text frames written, in order. */
  public List<String> sent() {
    return List.copyOf(sent);
  }

  /** From now on writes are recorded but never complete: a peer that reads nothing. */
  public void holdWrites() {
    holding = true;
  }

  /** Completes the held writes in order, and every later one at once: the peer reads again. */
  public void releaseWrites() {
    holding = false;
    for (Callback c; (c = held.poll()) != null; ) {
      c.succeed();
    }
  }

  /** Pings sent. */
  public int pings() {
    return pings.get();
  }

  /** Disconnects asked for (a close without the close handshake). */
  public int disconnects() {
    return disconnects.get();
  }

  /** The close codes asked for, in order. */
  public List<Integer> closes() {
    return List.copyOf(closes);
  }
}
