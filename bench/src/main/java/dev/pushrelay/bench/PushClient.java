package dev.pushrelay.bench;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The load generator's sockets: Jetty WebSocket clients, one per loopback source address (127.0.0.2 on,
 * {@link #ADDRESSES} of them, taken in turn), connecting with bounded concurrency. The sockets are many
 * users, and a relay node limits handshakes per client address (a burst of 100, then 20 a second): from
 * one address, a phase of thousands of sockets would be refused 429 as one flooding client.
 */
final class PushClient implements AutoCloseable {
  static final int ADDRESSES = 64;
  private final QueuedThreadPool threads = new QueuedThreadPool(400);
  private final List<WebSocketClient> clients = new ArrayList<>();
  private final AtomicInteger next = new AtomicInteger();
  private final TokenMint tokens;

  PushClient(TokenMint tokens) throws Exception {
    this.tokens = tokens;
    threads.setName("push-client");
    threads.start();
    for (int i = 0; i < ADDRESSES; i++) {
      HttpClient http = new HttpClient();
      http.setExecutor(threads);
      http.setBindAddress(new InetSocketAddress("127.0.0." + (2 + i), 0));
      http.setMaxConnectionsPerDestination(4096);
      http.setMaxRequestsQueuedPerDestination(100_000);
      WebSocketClient client = new WebSocketClient(http);
      // idle sockets stay open for the whole phase; the servers' pings keep them alive
      client.setIdleTimeout(Duration.ofHours(1));
      client.setConnectTimeout(30_000);
      client.setMaxTextMessageSize(1 << 20);
      client.start();
      clients.add(client);
    }
  }

  /**
   * Opens one socket per user id, at most {@code concurrency} handshakes in flight, and returns once
   * every one received {@code connection_established}; the first failure ends it, with its user.
   */
  List<ClientSocket> connect(PushServer server, List<String> userIds, int concurrency, ClientSocket.Sink sink,
      Duration timeout) throws Exception {
    Semaphore inFlight = new Semaphore(concurrency);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<ClientSocket> sockets = new ArrayList<>(userIds.size());
    List<CompletableFuture<Void>> all = new ArrayList<>(userIds.size());
    long deadline = System.nanoTime() + timeout.toNanos();
    for (String user : userIds) {
      while (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        checkProgress(server, failure, deadline, sockets.size(), userIds.size());
      }
      checkProgress(server, failure, deadline, sockets.size(), userIds.size());
      String token = tokens.mint(user);
      ClientSocket socket = new ClientSocket(server.contender().socketIo(), token, sink);
      sockets.add(socket);
      all.add(socket.established);
      ClientUpgradeRequest upgrade = new ClientUpgradeRequest();
      if (server.contender().relay()) {
        upgrade.setSubProtocols("bearer." + token);
      }
      if (!server.contender().extensionOffer().isEmpty()) {
        upgrade.addExtensions(server.contender().extensionOffer());
      }
      clients.get(Math.floorMod(next.getAndIncrement(), clients.size())).connect(socket, server.socketUri(token), upgrade)
          .whenComplete((session, e) -> {
            if (e != null) {
              socket.established.completeExceptionally(e);
            }
          });
      socket.established.whenComplete((v, e) -> {
        inFlight.release();
        if (e != null) {
          failure.compareAndSet(null, new IllegalStateException("socket of user " + user + " to "
              + server.contender().key() + " failed: " + e, e));
        }
      });
    }
    CompletableFuture<Void> done = CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    while (!done.isDone()) {
      checkProgress(server, failure, deadline, sockets.size(), userIds.size());
      try {
        done.get(100, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException notYet) {
        // keep checking
      }
    }
    checkProgress(server, failure, deadline, sockets.size(), userIds.size());
    return sockets;
  }

  private static void checkProgress(PushServer server, AtomicReference<Throwable> failure, long deadline, int started,
      int total) throws Exception {
    Throwable f = failure.get();
    if (f != null) {
      throw new IllegalStateException(f.getMessage() + "\nserver log tail:\n" + server.logTail(), f);
    }
    if (!server.alive()) {
      throw new IllegalStateException(server.contender().key() + " exited while sockets connected; log tail:\n"
          + server.logTail());
    }
    if (System.nanoTime() > deadline) {
      throw new IllegalStateException("connecting " + total + " sockets to " + server.contender().key()
          + " took too long (" + started + " started)");
    }
  }

  /** Closes the sockets (close frames), waits up to {@code grace} for the closes, then drops the rest. */
  static void closeAll(List<ClientSocket> sockets, Duration grace) throws InterruptedException {
    for (ClientSocket s : sockets) {
      s.close();
    }
    long deadline = System.nanoTime() + grace.toNanos();
    for (ClientSocket s : sockets) {
      long left = deadline - System.nanoTime();
      try {
        s.closed.get(Math.max(1, left), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        s.abort();
      }
    }
  }

  @Override
  public void close() throws Exception {
    for (WebSocketClient client : clients) {
      client.stop();
    }
    threads.stop();
  }
}
