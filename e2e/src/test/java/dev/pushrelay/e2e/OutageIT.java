package dev.pushrelay.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.TestSocketClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A 20 s Firestore outage on the whole stack, with the default retry settings: every handshake made to
 * either node meanwhile, and after, is answered (a 101 or a refusal), whatever the node is doing (fencing
 * itself, coming back, waiting on Firestore): 99 % of them within a second and every one within two (on
 * this 2-core machine, with the whole stack and its emulators beside the node, a handshake made the moment
 * a node comes back waited 1.02 to 1.28 s in about one CI run in two; the print shows the slowest); and
 * what was accepted during the outage reaches its users soon after it ends. Handshakes are made on a plain
 * TCP socket, as a client without a connect timeout of its own makes them, and timed to the status line.
 */
class OutageIT {
  private static final Duration OUTAGE = Duration.ofSeconds(20);
  /** How long 99 % of the handshakes may wait for their status line. */
  private static final Duration ANSWER = Duration.ofSeconds(1);
  /** How long any handshake may wait for its status line before it counts as answered too late. */
  private static final Duration ANSWER_EVERY = Duration.ofSeconds(2);
  /** How long a probe waits at most, so that a handshake with no answer at all is told from a slow one. */
  private static final Duration PROBE_PATIENCE = Duration.ofSeconds(15);
  private static final int USERS_PER_NODE = 50;
  /** The stayers messages are sent to during the outage, one a second each. */
  private static final int SENT_TO = 6;
  /**
   * Users the probes take turns with, so that no user's handshake rate limit answers for the node:
   * a probe every 200 ms comes back to a user after a minute.
   */
  private static final int PROBE_USERS = 300;
  private static LocalStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = LocalStack.start(Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    stack.close();
  }

  /** One handshake: when it began, the status it got (0: none within the patience), and how long that took. */
  record Handshake(int node, Instant start, int status, Duration took) {}

  @Test
  void everyHandshakeIsAnsweredWithinASecondAndTheOutagesMessagesArriveSoonAfter() throws Exception {
    List<Stayer> stayers = new ArrayList<>();
    List<Handshake> handshakes = new CopyOnWriteArrayList<>();
    for (int node = 1; node <= 2; node++) {
      for (int i = 0; i < USERS_PER_NODE; i++) {
        stayers.add(new Stayer("outage-" + node + "-" + i + "-" + System.nanoTime(), node, handshakes));
      }
    }
    for (Stayer s : stayers) {
      s.connect();
    }
    handshakes.clear();
    AtomicBoolean probing = new AtomicBoolean(true);
    ExecutorService pool = Executors.newFixedThreadPool(4 + SENT_TO);
    List<Future<?>> probes = new ArrayList<>();
    for (int node = 1; node <= 2; node++) {
      int n = node;
      List<String> tokens = new ArrayList<>();
      for (int i = 0; i < PROBE_USERS; i++) {
        tokens.add(stack.devToken(n, "outage-probe-" + n + "-" + i));
      }
      probes.add(pool.submit(() -> probe(n, tokens, probing, handshakes)));
    }
    Map<String, Stayer> accepted = new ConcurrentHashMap<>();
    ProcessHandle firestore = stack.process("firestore-emulator");
    Instant outageStart = Instant.now();
    Instant outageEnd;
    LocalStack.signal(firestore, "STOP");
    try {
      List<Future<?>> senders = new ArrayList<>();
      for (int i = 0; i < SENT_TO; i++) {
        Stayer s = stayers.get(i * stayers.size() / SENT_TO);
        senders.add(pool.submit(() -> {
          for (int n = 0; Duration.between(outageStart, Instant.now()).compareTo(OUTAGE) < 0; n++) {
            String id = s.user + "-" + n;
            if (send(s.user, id)) {
              accepted.put(id, s);
            }
            TimeUnit.MILLISECONDS.sleep(1000); // the sending rate during the outage, not a wait for a result
          }
          return null;
        }));
      }
      for (Future<?> f : senders) {
        f.get();
      }
    } finally {
      LocalStack.signal(firestore, "CONT");
      outageEnd = Instant.now();
    }
    Map<String, Duration> arrivals = new ConcurrentHashMap<>();
    for (Map.Entry<String, Stayer> e : accepted.entrySet()) {
      Instant at = e.getValue().awaitMessage(e.getKey(), Duration.ofSeconds(90));
      arrivals.put(e.getKey(), Duration.between(outageEnd, at));
    }
    TimeUnit.SECONDS.sleep(5); // handshakes keep being probed a while after the outage: the fault's tail
    probing.set(false);
    for (Future<?> f : probes) {
      f.get(PROBE_PATIENCE.plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
    }
    pool.shutdownNow();
    stayers.forEach(Stayer::close);

    List<Handshake> late = handshakes.stream().filter(h -> h.status == 0 || h.took.compareTo(ANSWER) > 0).toList();
    List<Handshake> tooLate = late.stream().filter(h -> h.status == 0 || h.took.compareTo(ANSWER_EVERY) > 0).toList();
    List<Long> afterEnd = arrivals.values().stream().map(Duration::toMillis).sorted().toList();
    List<Long> tookMs = handshakes.stream().map(h -> h.took().toMillis()).sorted().toList();
    System.out.printf("outage: %d handshakes probed, %d answered late or not at all %s; statuses %s; "
        + "p99 %d ms, slowest %d ms%n", handshakes.size(), late.size(), late,
        handshakes.stream().map(Handshake::status).distinct().sorted().toList(),
        ReliabilityReport.p99(tookMs),
        tookMs.isEmpty() ? 0 : tookMs.get(tookMs.size() - 1));
    System.out.printf("outage: %d messages accepted during it, arrived after its end: p50 %d ms, max %d ms%n",
        afterEnd.size(), afterEnd.isEmpty() ? 0 : afterEnd.get(afterEnd.size() / 2),
        afterEnd.isEmpty() ? 0 : afterEnd.get(afterEnd.size() - 1));
    assertTrue(handshakes.size() > 40, "too few handshakes probed: " + handshakes.size());
    assertTrue(accepted.size() >= SENT_TO, "too few messages accepted during the outage: " + accepted.size());
    assertEquals(List.of(), tooLate, "handshakes answered later than " + ANSWER_EVERY + " (status 0: not at all)");
    assertTrue(late.size() * 100 <= handshakes.size(), "more than 1 % answered later than " + ANSWER + ": " + late);
    assertTrue(afterEnd.stream().allMatch(ms -> ms <= 10_000), "arrived more than 10 s after the outage: " + afterEnd);
  }

  /** Handshakes to {@code node} one after another, each timed to its status line, until told to stop. */
  private static Void probe(int node, List<String> tokens, AtomicBoolean probing, List<Handshake> out)
      throws Exception {
    int port = stack.port("NODE" + node + "_PORT");
    for (int i = 0; probing.get(); i++) {
      String token = tokens.get(i % tokens.size());
      Instant start = Instant.now();
      int status = 0;
      try (Socket s = new Socket("127.0.0.1", port)) {
        s.setSoTimeout((int) PROBE_PATIENCE.toMillis());
        byte[] key = new byte[16];
        ThreadLocalRandom.current().nextBytes(key);
        OutputStream o = s.getOutputStream();
        o.write(("GET /ws?access_token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
            + Base64.getEncoder().encodeToString(key) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        o.flush();
        String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
            .readLine();
        if (line != null && line.startsWith("HTTP/1.1 ")) {
          status = Integer.parseInt(line.substring(9, 12));
        }
      } catch (SocketTimeoutException e) {
        status = 0;
      }
      out.add(new Handshake(node, start, status, Duration.between(start, Instant.now())));
      TimeUnit.MILLISECONDS.sleep(200); // the probing rate, not a wait for a result
    }
    return null;
  }

  private static boolean send(String user, String id) throws Exception {
    ObjectNode body = JsonCodec.object();
    body.put("userId", user).put("event", "during-outage").put("id", id);
    HttpResponse<String> r = stack.send("application/json", JsonCodec.write(body));
    if (r.statusCode() != 202) {
      System.out.printf("outage: send refused with %d (%s)%n", r.statusCode(), r.body());
    }
    return r.statusCode() == 202;
  }

  /** A user who stays on one node: reconnects to it at once whenever the socket closes, as the JS client does on 1012. */
  private static final class Stayer {
    final String user;
    final int node;
    final List<TestSocketClient> sockets = new CopyOnWriteArrayList<>();
    volatile boolean stopped;

    final List<Handshake> handshakes;

    Stayer(String user, int node, List<Handshake> handshakes) {
      this.user = user;
      this.node = node;
      this.handshakes = handshakes;
    }

    void connect() throws Exception {
      String token = stack.devToken(node, user);
      while (!stopped) {
        Instant start = Instant.now();
        AtomicReference<Instant> answered = new AtomicReference<>();
        try {
          TestSocketClient c = TestSocketClient.connect(stack.socket(node, token), PROBE_PATIENCE, answered::set);
          // timed to the 101, as the probes are: the client's own work of opening the session is not the node's
          Instant at = answered.get() == null ? Instant.now() : answered.get();
          handshakes.add(new Handshake(node, start, 101, Duration.between(start, at)));
          sockets.add(c);
          c.closed().thenRun(() -> {
            if (!stopped) {
              new Thread(this::reconnect, "reconnect-" + user).start();
            }
          });
          c.awaitType("connection_established", Duration.ofSeconds(30));
          return;
        } catch (java.util.concurrent.ExecutionException refused) {
          int status = refused.getCause() instanceof org.eclipse.jetty.websocket.api.exceptions.UpgradeException u
              ? u.getResponseStatusCode() : -1;
          handshakes.add(new Handshake(node, start, status, Duration.between(start, Instant.now())));
          TimeUnit.MILLISECONDS.sleep(250); // the client's pause before it tries again
        } catch (java.util.concurrent.TimeoutException unanswered) {
          handshakes.add(new Handshake(node, start, 0, Duration.between(start, Instant.now())));
          TimeUnit.MILLISECONDS.sleep(250); // the client's pause before it tries again
        }
      }
    }

    void reconnect() {
      try {
        connect();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** When {@code id} first reached any of this user's sockets. */
    Instant awaitMessage(String id, Duration timeout) throws Exception {
      return Await.value("message " + id, timeout, () -> sockets.stream()
          .flatMap(c -> c.messages().stream())
          .filter(f -> id.equals(f.json().path("id").asText()))
          .map(TestSocketClient.Frame::receivedAt)
          .min(Instant::compareTo));
    }

    void close() {
      stopped = true;
      sockets.forEach(TestSocketClient::close);
    }
  }
}
