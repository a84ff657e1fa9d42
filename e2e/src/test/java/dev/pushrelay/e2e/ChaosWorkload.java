package dev.pushrelay.e2e;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.model.MessageAttributes;
import dev.pushrelay.pubsub.OutboundMessage;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.testing.TestTokens;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The traffic of a chaos run: users who connect to a random live node, stay a few seconds, leave and
 * come back (at once when the node closed them, as the JS client does on 1012), while a sender sends
 * to them at a steady rate, half through the send API and half straight into {@code relay-requests}
 * with the Pub/Sub client library, as a backend service does. Every accepted message goes into the
 * ledger with the user it is addressed to, and its data names that user, so a delivery to someone else
 * is seen.
 */
final class ChaosWorkload implements AutoCloseable {
  private static final Duration CONNECT = Duration.ofSeconds(5);
  /** A churn step ends well within this: its connect and its wait for the answer take CONNECT each, at most. */
  private static final Duration STEP_ENDS = CONNECT.multipliedBy(3);

  /** One socket of one user, and when it was established and closed. */
  static final class Socket {
    final String user;
    final int port;
    final TestSocketClient client;
    final Instant establishedAt;
    final String connectionId;
    volatile Instant closedAt;

    Socket(String user, int port, TestSocketClient client, Instant establishedAt, String connectionId) {
      this.user = user;
      this.port = port;
      this.client = client;
      this.establishedAt = establishedAt;
      this.connectionId = connectionId;
    }

    boolean heldAt(Instant t) {
      Instant closed = closedAt;
      return !establishedAt.isAfter(t) && (closed == null || closed.isAfter(t));
    }
  }

  private final LocalStack stack;
  private final Ledger ledger;
  private final List<String> users = new CopyOnWriteArrayList<>();
  private final Map<String, String> tokens = new ConcurrentHashMap<>();
  /** Users who stay on one node (reconnecting to it when closed) instead of churning. */
  private final Map<String, Integer> stayers = new ConcurrentHashMap<>();
  private final List<Integer> nodes = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService pool = Executors.newScheduledThreadPool(32);
  private final AtomicBoolean churning = new AtomicBoolean(true);
  private final AtomicBoolean sending = new AtomicBoolean(true);
  private final Map<String, AtomicBoolean> crowdSenders = new ConcurrentHashMap<>();
  private final AtomicInteger refused = new AtomicInteger();
  private final AtomicInteger sent = new AtomicInteger();
  /** Steps of the churn (a user's cycle, a stayer's reconnect) under way; {@link #settle} waits for them. */
  private final AtomicInteger churnSteps = new AtomicInteger();
  private final PubSubMessagePublisher publisher;
  private final String requestsTopic = Topology.standard().requestsTopic();
  private final double perSecond;
  private final ScheduledExecutorService senderTimer = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService senders = Executors.newFixedThreadPool(16);
  /** The pending end of each churning socket's stay, cancelled when the churn stops. */
  private final Map<Socket, ScheduledFuture<?>> leaving = new ConcurrentHashMap<>();

  ChaosWorkload(LocalStack stack, Ledger ledger, double perSecond) {
    this.stack = stack;
    this.ledger = ledger;
    this.perSecond = perSecond;
    this.publisher = new PubSubMessagePublisher(stack.probe().clients());
  }

  /** A node the users may connect to. */
  void nodeUp(int port) {
    nodes.add(port);
  }

  /** A node the users stop connecting to (killed). */
  void nodeDown(int port) {
    nodes.remove(Integer.valueOf(port));
  }

  List<Integer> nodes() {
    return List.copyOf(nodes);
  }

  /** Adds churning users and starts their lives. */
  void churners(String prefix, int count) throws Exception {
    for (int i = 0; i < count; i++) {
      String user = prefix + "-" + i;
      addUser(user);
      pool.schedule(() -> cycle(user), ThreadLocalRandom.current().nextInt(1000), TimeUnit.MILLISECONDS);
    }
  }

  /** Adds users who connect to {@code port} and stay; returns their sockets once established. */
  List<Socket> stayers(String prefix, int count, int port) throws Exception {
    List<Socket> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String user = prefix + "-" + i;
      addUser(user);
      stayers.put(user, port);
      out.add(connectUntilEstablished(user, port, Duration.ofSeconds(30)));
    }
    return out;
  }

  private void addUser(String user) {
    tokens.put(user, token(user));
    users.add(user);
  }

  /** A dev token as the local stack's nodes sign them, made here so no node has to be up for it. */
  private static String token(String user) {
    return TestTokens.hs256(LocalStack.DEV_SECRET, new JWTClaimsSet.Builder().subject(user)
        .expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))).build());
  }

  /**
   * A crowd of {@code count} users, one socket each on {@code port}, connected concurrently; they
   * neither churn nor come back by themselves, and get no traffic until {@link #sendTo}.
   */
  List<Socket> crowd(String prefix, int count, int port) throws Exception {
    List<CompletableFuture<Socket>> each = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String user = prefix + "-" + i;
      tokens.put(user, token(user));
      each.add(connectAsync(user, port, Duration.ofSeconds(60)));
    }
    CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
    return each.stream().map(CompletableFuture::join).toList();
  }

  /**
   * Connects {@code user} to one of {@code ports}, a random one first and the next one at each try, until
   * established (a reconnect after a close, as a client behind the load balancer lands on any node with
   * room). Each try waits on no thread: the clients of a drained node all reconnect at once, as browsers
   * do, not as many at a time as this workload has threads. After a failed try the next waits as the JS
   * client's does ({@link #backoff}).
   */
  CompletableFuture<Socket> reconnect(String user, List<Integer> ports) {
    return connectAsync(user, ports, Duration.ofSeconds(60));
  }

  private CompletableFuture<Socket> connectAsync(String user, int port, Duration timeout) {
    return connectAsync(user, List.of(port), timeout);
  }

  private CompletableFuture<Socket> connectAsync(String user, List<Integer> ports, Duration timeout) {
    CompletableFuture<Socket> out = new CompletableFuture<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    Runnable attempt = new Runnable() {
      private int tries = ThreadLocalRandom.current().nextInt(ports.size());
      private int failures;

      @Override
      public void run() {
        tryOpen(user, ports.get(tries++ % ports.size())).whenComplete((s, failed) -> {
          if (s != null) {
            out.complete(s);
          } else if (System.nanoTime() > deadline) {
            out.completeExceptionally(new TimeoutException(user + " could not connect to any of ports " + ports));
          } else {
            pool.schedule(this, backoff(failures++), TimeUnit.MILLISECONDS);
          }
        });
      }
    };
    attempt.run();
    return out;
  }

  /** A second sender, to the users whose names start with {@code prefix}, at {@code perSecond}. */
  void sendTo(String prefix, double perSecond) {
    List<String> crowd = tokens.keySet().stream().filter(u -> u.startsWith(prefix + "-")).sorted().toList();
    AtomicBoolean on = new AtomicBoolean(true);
    crowdSenders.put(prefix, on);
    long periodNanos = (long) (1e9 / perSecond);
    pool.scheduleAtFixedRate(() -> {
      if (on.get()) {
        String user = crowd.get(ThreadLocalRandom.current().nextInt(crowd.size()));
        if (!((sent.getAndIncrement() & 1) == 1 ? publishDirect(user) : sendHttp(user))) {
          refused.incrementAndGet();
        }
      }
    }, 0, periodNanos, TimeUnit.NANOSECONDS);
  }

  void stopSendingTo(String prefix) {
    AtomicBoolean on = crowdSenders.remove(prefix);
    if (on != null) {
      on.set(false);
    }
  }

  /**
   * Starts the sender: a steady rate, each send on a thread of its own pool, so that a send held up by
   * a fault (a stalled emulator) does not hold back the ones after it.
   */
  void startSending() {
    long periodNanos = (long) (1e9 / perSecond);
    senderTimer.scheduleAtFixedRate(() -> {
      if (!sending.get()) {
        return;
      }
      String user = users.get(ThreadLocalRandom.current().nextInt(users.size()));
      int n = sent.getAndIncrement();
      boolean direct = (n & 1) == 1;
      if ((n & 3) == 0) {
        senders.execute(() -> publishUpstream("up-" + n));
      }
      senders.execute(() -> {
        if (!(direct ? publishDirect(user) : sendHttp(user))) {
          refused.incrementAndGet();
        }
      });
    }, 0, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Stops sending, and waits for the sends in flight to be answered. */
  void stopSending() throws InterruptedException {
    sending.set(false);
    senderTimer.shutdown();
    senderTimer.awaitTermination(10, TimeUnit.SECONDS);
    senders.shutdown();
    senders.awaitTermination(60, TimeUnit.SECONDS);
  }

  private static String body(String user, String id) {
    ObjectNode b = JsonCodec.object();
    b.put("userId", user).put("event", "chaos").put("id", id);
    b.putObject("data").put("to", user);
    return JsonCodec.write(b);
  }

  private boolean sendHttp(String user) {
    Instant started = Instant.now();
    try {
      HttpResponse<String> r = stack.send("application/json", body(user, UUID.randomUUID().toString()));
      if (r.statusCode() != 202) {
        return false;
      }
      ledger.accepted(user, LocalStack.json(r).get("id").asText(), started);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** As another GCP service does: publish the send request to relay-requests with its own id. */
  private boolean publishDirect(String user) {
    String id = UUID.randomUUID().toString();
    Instant started = Instant.now();
    try {
      publisher.publish(requestsTopic, new OutboundMessage(body(user, id),
          Map.of(MessageAttributes.USER_ID, user, MessageAttributes.MESSAGE_ID, id))).get(10, TimeUnit.SECONDS);
      ledger.accepted(user, id, null); // relay-requests promises no order against other sends
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /**
   * A client publishes to the backend on one of the open sockets: the upstream ledger later finds
   * every publish answered {@code accepted} on the upstream topic. One that is refused or whose socket
   * closes first is not accepted, and not promised.
   */
  private void publishUpstream(String id) {
    List<Socket> open = sockets.stream().filter(s -> s.client.isOpen()).toList();
    if (open.isEmpty()) {
      return;
    }
    Socket s = open.get(ThreadLocalRandom.current().nextInt(open.size()));
    try {
      s.client.send("{\"type\":\"publish\",\"id\":\"" + id + "\",\"event\":\"chaos\",\"data\":{\"n\":\""
          + id + "\"}}");
    } catch (Exception closing) {
      // the socket went meanwhile: nothing was accepted
    }
  }

  /** Closes every socket and waits (up to {@code grace}) for each close to complete. */
  void closeSockets(Duration grace) throws InterruptedException {
    churning.set(false);
    for (Socket s : sockets) {
      s.client.close();
    }
    CompletableFuture<?>[] closes = sockets.stream().map(s -> s.client.closed()).toArray(CompletableFuture[]::new);
    try {
      CompletableFuture.allOf(closes).get(grace.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // closed without a handshake, or not at all: the node's close handler still runs
    }
  }

  /** One churning user's life: connect to a random live node, stay 1-4 s, leave, come back within 1 s. */
  private void cycle(String user) {
    counted(() -> cycleStep(user));
  }

  private void cycleStep(String user) {
    if (!churning.get()) {
      return;
    }
    List<Integer> live = nodes();
    if (live.isEmpty()) {
      pool.schedule(() -> cycle(user), 200, TimeUnit.MILLISECONDS);
      return;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    Socket s = tryConnect(user, live.get(random.nextInt(live.size())));
    if (s == null) {
      pool.schedule(() -> cycle(user), 200, TimeUnit.MILLISECONDS);
      return;
    }
    long stay = 1000 + random.nextInt(3000);
    long back = random.nextInt(1000);
    s.client.closed().thenRun(() -> {
      leaving.remove(s);
      if (churning.get()) {
        pool.schedule(() -> cycle(user), back, TimeUnit.MILLISECONDS);
      }
    });
    if (churning.get()) {
      leaving.put(s, pool.schedule(s.client::close, stay, TimeUnit.MILLISECONDS));
    }
  }

  /** Connects and waits for {@code connection_established}; null when the node refused or did not answer. */
  private Socket tryConnect(String user, int port) {
    TestSocketClient c = null;
    try {
      c = TestSocketClient.connect(uri(user, port), Map.of(), CONNECT);
      return established(user, port, c, c.awaitType("connection_established", CONNECT));
    } catch (Exception e) {
      if (c != null) {
        c.close();
      }
      return null;
    }
  }

  /**
   * The wait before try {@code failures} + 2 of a connect, as relay-client.js draws it: full-jitter exponential
   * backoff, uniform in [0, min(30 s, 500 ms × 2^failures)).
   */
  static long backoff(int failures) {
    long ceiling = Math.min(30_000L, 500L << Math.min(failures, 10));
    return ThreadLocalRandom.current().nextLong(ceiling);
  }

  /** {@link #tryConnect} without a thread waiting for it: the socket once established, or null. */
  private CompletableFuture<Socket> tryOpen(String user, int port) {
    return TestSocketClient.open(uri(user, port), CONNECT).thenCompose(c -> c.firstOfType("connection_established")
        .orTimeout(CONNECT.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(established -> established(user, port, c, established))
        .whenComplete((s, failed) -> {
          if (failed != null) {
            c.close();
          }
        }))
        .exceptionally(failed -> null);
  }

  private URI uri(String user, int port) {
    return URI.create("ws://127.0.0.1:" + port + "/ws?access_token=" + tokens.get(user));
  }

  /** A socket that got its {@code connection_established}: counted among the workload's sockets from now on. */
  private Socket established(String user, int port, TestSocketClient c, TestSocketClient.Frame established) {
    Socket s = new Socket(user, port, c, established.receivedAt(), established.json().get("connectionId").asText());
    sockets.add(s);
    c.closed().thenRun(() -> s.closedAt = Instant.now());
    if (stayers.containsKey(user)) {
      // a stayer comes back to its node when closed (a fenced or draining node's 1012)
      c.closed().thenRun(() -> pool.execute(() -> reconnectStayer(user)));
    }
    return s;
  }

  private void reconnectStayer(String user) {
    counted(() -> reconnectStayerStep(user));
  }

  private void reconnectStayerStep(String user) {
    if (!sending.get() && !churning.get()) {
      return;
    }
    Integer port = stayers.get(user);
    List<Integer> live = nodes();
    int target = port != null && live.contains(port) ? port : live.get(ThreadLocalRandom.current().nextInt(live.size()));
    if (tryConnect(user, target) == null) {
      pool.schedule(() -> reconnectStayer(user), 200, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Runs a step of the churn counted as under way. It counts itself before it looks whether the churn
   * still runs, so once {@link #settle} has stopped the churn and seen no step under way, none connects.
   */
  private void counted(Runnable step) {
    churnSteps.incrementAndGet();
    try {
      step.run();
    } finally {
      churnSteps.decrementAndGet();
    }
  }

  private Socket connectUntilEstablished(String user, int port, Duration timeout) throws Exception {
    return Await.value("user " + user + " connected to port " + port, timeout,
        () -> Optional.ofNullable(tryConnect(user, port)));
  }

  /**
   * Churn stops: a user who holds a socket keeps it, and every other user connects once more, to a
   * random live node; all stay.
   */
  void settle() throws Exception {
    churning.set(false);
    stayers.clear();
    keepSockets();
    Await.until("the churn's steps under way ended", STEP_ENDS, () -> churnSteps.get() == 0);
    keepSockets(); // a step under way may have planned one more leave
    List<Integer> live = nodes();
    for (String user : users) {
      boolean open = sockets.stream().anyMatch(s -> s.user.equals(user) && s.client.isOpen());
      if (!open) {
        connectUntilEstablished(user, live.get(ThreadLocalRandom.current().nextInt(live.size())),
            Duration.ofSeconds(60));
      }
    }
  }

  /** Cancels the planned end of each churning socket's stay. */
  private void keepSockets() {
    leaving.values().forEach(f -> f.cancel(false));
    leaving.clear();
  }

  List<Socket> sockets() {
    return List.copyOf(sockets);
  }

  /** The sockets as the ledger reads them. */
  List<Map.Entry<String, TestSocketClient>> entries() {
    return sockets.stream().map(s -> Map.entry(s.user, s.client)).toList();
  }

  int refused() {
    return refused.get();
  }

  @Override
  public void close() {
    churning.set(false);
    sending.set(false);
    senderTimer.shutdownNow();
    senders.shutdownNow();
    pool.shutdownNow();
    for (Socket s : sockets) {
      s.client.close();
    }
    publisher.close();
  }
}
