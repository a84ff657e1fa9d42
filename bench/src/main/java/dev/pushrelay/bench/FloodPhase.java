package dev.pushrelay.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Phase 2b: what a flood of unauthenticated handshakes leaves on our node's heap. The node runs as
 * deployed behind one trusted proxy hop ({@code RELAY_TRUSTED_PROXY_HOPS=1}, as Cloud Run's front end
 * appends one). {@code FLOOD_HANDSHAKES} upgrade requests, {@code FLOOD_CONCURRENCY} at a time, each on
 * a connection of its own, carry no token and headers of {@code FLOOD_HEADER_BYTES} in all (Jetty reads
 * 8 KiB): most of it a forged {@code X-Forwarded-For} whose last hop, the one the proxy would have
 * appended, is an address of its own (10.0.0.0/8, a new one each time), so that every handshake is a new
 * key for the per-address limit. Each answer's status is counted; the node's heap is read after a full
 * GC before the flood and after it.
 */
final class FloodPhase {
  private final SocketBenchSettings s;
  private final int handshakes = SocketBenchSettings.envInt("FLOOD_HANDSHAKES", 100_000);
  private final int concurrency = SocketBenchSettings.envInt("FLOOD_CONCURRENCY", 16);
  private final int headerBytes = SocketBenchSettings.envInt("FLOOD_HEADER_BYTES", 8_000);

  FloodPhase(SocketBenchSettings s) {
    this.s = s;
  }

  String run() throws Exception {
    Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    AtomicInteger next = new AtomicInteger();
    long before;
    long after;
    double seconds;
    try (PushServer server = PushServer.start(Contender.RELAY, s, 100, "flood", s.pubsubHost(),
        Map.of("RELAY_TRUSTED_PROXY_HOPS", "1"))) {
      int port = server.socketUri("").getPort();
      before = server.heapAfterGcBytes();
      long t0 = System.nanoTime();
      ExecutorService pool = Executors.newFixedThreadPool(concurrency);
      for (int t = 0; t < concurrency; t++) {
        pool.execute(() -> {
          for (int i = next.getAndIncrement(); i < handshakes; i = next.getAndIncrement()) {
            statuses.computeIfAbsent(handshake(port, i), k -> new LongAdder()).increment();
          }
        });
      }
      pool.shutdown();
      if (!pool.awaitTermination(30, TimeUnit.MINUTES)) {
        throw new IllegalStateException("the flood did not end in 30 minutes");
      }
      seconds = (System.nanoTime() - t0) / 1e9;
      after = server.heapAfterGcBytes();
    }
    Map<Integer, Long> answered = new TreeMap<>();
    statuses.forEach((k, v) -> answered.put(k, v.sum()));
    System.err.printf("flood: %d handshakes in %.1f s, answers %s, heap %.1f -> %.1f MB%n", handshakes, seconds,
        answered, before / 1e6, after / 1e6);
    return report(answered, before, after, seconds);
  }

  /** One upgrade request without a token: the status of its answer, or -1 when none came. */
  private int handshake(int port, int i) {
    String address = "10." + ((i >> 16) & 0xff) + "." + ((i >> 8) & 0xff) + "." + (i & 0xff);
    StringBuilder forged = new StringBuilder();
    String head = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: ";
    int room = headerBytes - head.length() - address.length() - 6;
    while (forged.length() < room) {
      forged.append("forged-").append(i).append(", ");
    }
    forged.setLength(Math.max(0, room));
    String request = head + forged + ", " + address + "\r\n\r\n";
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return status(socket.getInputStream());
    } catch (IOException e) {
      return -1;
    }
  }

  private static int status(InputStream in) throws IOException {
    byte[] line = new byte[12]; // "HTTP/1.1 401"
    int n = in.readNBytes(line, 0, line.length);
    String head = new String(line, 0, Math.max(n, 0), StandardCharsets.US_ASCII);
    if (n < line.length || !head.matches("HTTP/1\\.[01] \\d{3}")) {
      return -1; // no answer, or not an HTTP status line: counted as unanswered
    }
    return Integer.parseInt(head.substring(9));
  }

  private String report(Map<Integer, Long> answered, long before, long after, double seconds) {
    StringBuilder md = new StringBuilder();
    md.append("### Phase 2b — a flood of unauthenticated handshakes: what it leaves on the heap\n\n");
    md.append(String.format("Our node alone, as deployed behind one trusted proxy hop (`RELAY_TRUSTED_PROXY_HOPS=1`),"
        + " %,d upgrade requests without a token, %d at a time, each on a connection of its own, with %,d bytes of "
        + "headers (Jetty reads 8 KiB): an `X-Forwarded-For` of forged hops whose last hop, the one the proxy "
        + "appends, is a new 10.0.0.0/8 address each time, so that each handshake is a new key for the per-address "
        + "limit. Heap in use after a full GC (`jcmd GC.run`, then `GC.heap_info`), before and after. "
        + "(`scripts/bench.sh flood`; FLOOD_HANDSHAKES, FLOOD_CONCURRENCY, FLOOD_HEADER_BYTES.)%n%n",
        handshakes, concurrency, headerBytes));
    md.append("| handshakes | answered | no answer | statuses | per second | heap before, MB | heap after, MB "
        + "| growth, MB |\n| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
    long none = answered.getOrDefault(-1, 0L);
    StringBuilder st = new StringBuilder();
    answered.forEach((k, v) -> {
      if (k >= 0) {
        st.append(st.length() == 0 ? "" : ", ").append(k).append(": ").append(String.format("%,d", v));
      }
    });
    md.append(String.format("| %,d | %,d | %,d | %s | %.0f | %.1f | %.1f | %.1f |%n%n", handshakes,
        handshakes - none, none, st, handshakes / seconds, before / 1e6, after / 1e6, (after - before) / 1e6));
    md.append("The bound: the two handshake limits (per user and per client address) keep at most 8 MiB of "
        + "buckets each (`SocketCreator.LIMITER_HEAP`), and nothing else of a refused handshake outlives it, so "
        + "the heap after the flood may exceed the heap before by at most 16 MiB.\n\n");
    return md.toString();
  }
}
