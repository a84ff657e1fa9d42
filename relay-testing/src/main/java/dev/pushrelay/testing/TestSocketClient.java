package dev.pushrelay.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.exceptions.UpgradeException;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.JettyUpgradeListener;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * A real Jetty WebSocket client for tests: records every frame with its arrival time.
 *
 * <p>A socket to a loopback node comes from an address of its own, one of {@link #ADDRESSES} in
 * 127.0.0.0/8 (127.0.0.2 on), taken in turn: a node limits handshakes per client address, and the
 * clients of a test are many users, not one flooding address. Every address in 127.0.0.0/8 is this
 * machine's on Linux.
 */
public final class TestSocketClient implements AutoCloseable {
  /** How many loopback addresses sockets are spread over: 32 × a node's burst of 100 handshakes. */
  public static final int ADDRESSES = 32;
  private static volatile WebSocketClient[] loopbackClients;
  private static volatile WebSocketClient client;
  private static final AtomicInteger nextAddress = new AtomicInteger();

  /** A frame and when it arrived. */
  public record Frame(JsonNode json, Instant receivedAt) {
    public String type() {
      return json.path("type").asText();
    }
  }

  private final Listener listener;

  private TestSocketClient(Listener listener) {
    this.listener = listener;
  }

  /** Opens a socket; the future fails with {@link UpgradeException} when the server refuses. */
  public static TestSocketClient connect(URI uri, Map<String, String> headers, Duration timeout) throws Exception {
    return connect(uri, headers, List.of(), timeout);
  }

  /** Opens a socket offering these WebSocket subprotocols (as a browser's {@code new WebSocket(url, protocols)}). */
  public static TestSocketClient connect(URI uri, Map<String, String> headers, List<String> subprotocols,
      Duration timeout) throws Exception {
    return connect(uri, headers, subprotocols, timeout, new Listener());
  }

  /**
   * Opens a socket whose client never acks a message, from its first frame on: a hand-written client
   * that never learnt to ({@link #stopAcking} stops a client that acked so far).
   */
  public static TestSocketClient connectWithoutAcks(URI uri, Duration timeout) throws Exception {
    Listener listener = new Listener();
    listener.acking = false;
    return connect(uri, Map.of(), List.of(), timeout, listener);
  }

  /**
   * Opens a socket and tells {@code answered} when the server's 101 arrived: a handshake timed to the
   * status line, as a raw client times it, without this client's own work of opening the session.
   */
  public static TestSocketClient connect(URI uri, Duration timeout, Consumer<Instant> answered) throws Exception {
    return connect(uri, Map.of(), List.of(), timeout, new Listener(), answered);
  }

  private static TestSocketClient connect(URI uri, Map<String, String> headers, List<String> subprotocols,
      Duration timeout, Listener listener) throws Exception {
    return connect(uri, headers, subprotocols, timeout, listener, at -> { });
  }

  private static TestSocketClient connect(URI uri, Map<String, String> headers, List<String> subprotocols,
      Duration timeout, Listener listener, Consumer<Instant> answered) throws Exception {
    Session session;
    try {
      session = within(upgrade(uri, headers, subprotocols, listener, answered), timeout).get();
    } catch (ExecutionException e) {
      // as a bounded get threw before: the refusal wrapped, the timeout as itself
      throw e.getCause() instanceof TimeoutException timedOut ? timedOut : e;
    }
    listener.session = session;
    return new TestSocketClient(listener);
  }

  /**
   * Opens a socket without waiting on the calling thread, as a browser's {@code new WebSocket(url)} does:
   * a thousand clients reconnecting at once are a thousand handshakes in flight, not as many as the
   * caller has threads. Fails with {@link UpgradeException} when the server refuses.
   */
  public static CompletableFuture<TestSocketClient> open(URI uri, Duration timeout) {
    Listener listener = new Listener();
    CompletableFuture<Session> session;
    try {
      session = upgrade(uri, Map.of(), List.of(), listener, at -> { });
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
    return within(session, timeout).thenApply(s -> {
      listener.session = s;
      return new TestSocketClient(listener);
    });
  }

  /**
   * The upgrade's session, or a {@link TimeoutException} after {@code timeout}. A session that opens after
   * that is closed at once: the caller gave up on it, and a socket nobody holds would take and ack
   * messages that no test counts.
   */
  private static CompletableFuture<Session> within(CompletableFuture<Session> upgrade, Duration timeout) {
    CompletableFuture<Session> mine = new CompletableFuture<>();
    upgrade.whenComplete((s, failed) -> {
      if (failed != null) {
        mine.completeExceptionally(failed);
      } else if (!mine.complete(s)) {
        s.close(1000, "the client gave up waiting", Callback.NOOP);
      }
    });
    return mine.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static CompletableFuture<Session> upgrade(URI uri, Map<String, String> headers, List<String> subprotocols,
      Listener listener, Consumer<Instant> answered) throws Exception {
    ClientUpgradeRequest request = new ClientUpgradeRequest();
    headers.forEach(request::setHeader);
    if (!subprotocols.isEmpty()) {
      request.setSubProtocols(subprotocols);
    }
    JettyUpgradeListener timed = new JettyUpgradeListener() {
      @Override
      public void onHandshakeResponse(Request upgrade, Response response) {
        answered.accept(Instant.now());
      }
    };
    return clientFor(uri).connect(listener, uri, request, timed);
  }

  /** The HTTP status with which the server refused the upgrade, or empty when it accepted. */
  public static Optional<Integer> refusal(URI uri, Map<String, String> headers, Duration timeout) throws Exception {
    return refusal(uri, headers, List.of(), timeout);
  }

  public static Optional<Integer> refusal(URI uri, Map<String, String> headers, List<String> subprotocols,
      Duration timeout) throws Exception {
    try (TestSocketClient accepted = connect(uri, headers, subprotocols, timeout)) {
      return Optional.empty();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UpgradeException u) {
        return Optional.of(u.getResponseStatusCode());
      }
      throw e;
    }
  }

  public Frame awaitFrame(Predicate<Frame> matches, Duration timeout) throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (listener) {
      while (true) {
        for (Frame f : listener.frames) {
          if (matches.test(f)) {
            return f;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("no matching frame within " + timeout + "; got " + listener.frames);
        }
        TimeUnit.NANOSECONDS.timedWait(listener, left);
      }
    }
  }

  public Frame awaitType(String type, Duration timeout) throws InterruptedException, TimeoutException {
    return awaitFrame(f -> f.type().equals(type), timeout);
  }

  /**
   * The first frame of {@code type}, without waiting on the calling thread; fails when the socket closes
   * before one came.
   */
  public CompletableFuture<Frame> firstOfType(String type) {
    CompletableFuture<Frame> first = new CompletableFuture<>();
    synchronized (listener) {
      for (Frame f : listener.frames) {
        if (f.type().equals(type)) {
          first.complete(f);
          return first;
        }
      }
      listener.waiters.add(new Waiter(type, first));
    }
    listener.closed.thenAccept(code -> first.completeExceptionally(
        new IllegalStateException("closed with " + code + " before a " + type + " frame")));
    return first;
  }

  /** A frame type someone waits for, and the future its first frame completes. */
  private record Waiter(String type, CompletableFuture<Frame> first) {}

  public List<Frame> frames() {
    synchronized (listener) {
      return List.copyOf(listener.frames);
    }
  }

  public List<Frame> messages() {
    return frames().stream().filter(f -> f.type().equals("message")).toList();
  }

  public void send(String text) throws Exception {
    CompletableFuture<Void> sent = new CompletableFuture<>();
    listener.session.sendText(text, Callback.from(() -> sent.complete(null), sent::completeExceptionally));
    sent.get(5, TimeUnit.SECONDS);
  }

  /** Sends one binary frame. */
  public void sendBinary(byte[] bytes) throws Exception {
    CompletableFuture<Void> sent = new CompletableFuture<>();
    listener.session.sendBinary(java.nio.ByteBuffer.wrap(bytes), Callback.from(() -> sent.complete(null),
        sent::completeExceptionally));
    sent.get(5, TimeUnit.SECONDS);
  }

  /** Sends one WebSocket pong frame that no ping asked for (RFC 6455 allows it as a heartbeat). */
  public void sendPong() throws Exception {
    CompletableFuture<Void> sent = new CompletableFuture<>();
    listener.session.sendPong(java.nio.ByteBuffer.allocate(0), Callback.from(() -> sent.complete(null),
        sent::completeExceptionally));
    sent.get(5, TimeUnit.SECONDS);
  }

  /** Sends one text message as {@code parts} frames (a first frame and continuations). */
  public void sendFragmented(String text, int parts) throws Exception {
    int step = Math.max(1, text.length() / parts);
    for (int from = 0; from < text.length(); from += step) {
      int to = Math.min(text.length(), from + step);
      CompletableFuture<Void> sent = new CompletableFuture<>();
      listener.session.sendPartialText(text.substring(from, to), to == text.length(),
          Callback.from(() -> sent.complete(null), sent::completeExceptionally));
      sent.get(5, TimeUnit.SECONDS);
    }
  }

  /** The subprotocol the server chose in its upgrade response, or null. */
  public String acceptedSubprotocol() {
    return listener.session.getUpgradeResponse().getAcceptedSubProtocol();
  }

  /**
   * Stops acking messages, as a frozen browser tab does (its WebSocket stack still answers pings) or a
   * hand-written client that never learnt to.
   */
  public void stopAcking() {
    listener.acking = false;
  }

  /** Stops answering the server's WebSocket pings, as a client that hung would. */
  public void stopAnsweringPings() {
    listener.answerPings = false;
  }

  /** The close code once the socket closed. */
  public int awaitClose(Duration timeout) throws Exception {
    return listener.closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Completes with the close code once the socket has closed, whoever closed it. */
  public CompletableFuture<Integer> closed() {
    return listener.closed;
  }

  public boolean isOpen() {
    return listener.session != null && listener.session.isOpen();
  }

  @Override
  public void close() {
    Session s = listener.session;
    if (s != null && s.isOpen()) {
      s.close(1000, "test done", Callback.NOOP);
    }
  }

  /** The client for {@code uri}: for a loopback host, the next one of the loopback addresses. */
  private static WebSocketClient clientFor(URI uri) throws Exception {
    String host = uri.getHost();
    if (host != null && host.startsWith("127.")) { // an IPv4 loopback: "localhost" may be ::1
      WebSocketClient[] pool = loopbackClients();
      return pool[Math.floorMod(nextAddress.getAndIncrement(), pool.length)];
    }
    return client();
  }

  private static WebSocketClient client() throws Exception {
    WebSocketClient c = client;
    if (c == null) {
      synchronized (TestSocketClient.class) {
        if (client == null) {
          client = started(new HttpClient());
        }
        c = client;
      }
    }
    return c;
  }

  /** One client per loopback address, sharing one thread pool and one scheduler. */
  private static WebSocketClient[] loopbackClients() throws Exception {
    WebSocketClient[] pool = loopbackClients;
    if (pool == null) {
      synchronized (TestSocketClient.class) {
        if (loopbackClients == null) {
          QueuedThreadPool threads = new QueuedThreadPool(400);
          threads.setName("test-socket-client");
          threads.setDaemon(true);
          threads.start();
          ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("test-socket-client-timer", true);
          scheduler.start();
          WebSocketClient[] made = new WebSocketClient[ADDRESSES];
          for (int i = 0; i < ADDRESSES; i++) {
            HttpClient http = new HttpClient();
            http.setExecutor(threads);
            http.setScheduler(scheduler);
            http.setBindAddress(new InetSocketAddress("127.0.0." + (2 + i), 0));
            made[i] = started(http);
          }
          loopbackClients = made;
        }
        pool = loopbackClients;
      }
    }
    return pool;
  }

  private static WebSocketClient started(HttpClient http) throws Exception {
    WebSocketClient started = new WebSocketClient(http);
    started.setMaxTextMessageSize(1 << 20);
    // as a browser: a socket that hears nothing for a while stays open (Jetty's client would close
    // it with 1001 after 30 s of silence, which is no fault of the relay's)
    started.setIdleTimeout(java.time.Duration.ofMinutes(10));
    started.start();
    return started;
  }

  /** The Jetty listener; public because Jetty requires endpoint classes to be. */
  public static final class Listener implements Session.Listener.AutoDemanding {
    private final List<Frame> frames = new ArrayList<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private volatile Session session;
    private volatile boolean answerPings = true;
    private volatile boolean acking = true;

    @Override
    public void onWebSocketPing(java.nio.ByteBuffer payload) {
      Session s = session;
      if (answerPings && s != null) {
        s.sendPong(payload, Callback.NOOP);
      }
    }

    @Override
    public void onWebSocketText(String text) {
      JsonNode json;
      try {
        json = JsonCodec.read(text.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        json = JsonCodec.object().put("type", "unparseable").put("text", text);
      }
      Frame frame = new Frame(json, Instant.now());
      List<Waiter> met = new ArrayList<>();
      synchronized (this) {
        frames.add(frame);
        notifyAll();
        waiters.removeIf(w -> w.type().equals(frame.type()) && met.add(w));
      }
      met.forEach(w -> w.first().complete(frame));
      Session s = session;
      if (acking && s != null && "message".equals(json.path("type").asText())) {
        // as a real client does: the node re-routes unacked messages when a socket closes
        s.sendText("{\"type\":\"ack\",\"id\":" + json.get("id") + "}", Callback.NOOP);
      }
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      // an ack racing the close fails; the close itself is what tests look at
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      closed.complete(statusCode);
      synchronized (this) {
        notifyAll();
      }
    }
  }
}
