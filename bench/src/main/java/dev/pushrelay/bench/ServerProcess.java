package dev.pushrelay.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A server the benchmark started as a process of its own, optionally pinned to CPUs with taskset
 * (which execs, so the pid is the server's): waits for it to be ready, reads its CPU time and RSS from
 * /proc, and stops exactly that pid (SIGTERM, then SIGKILL after the grace).
 */
final class ServerProcess implements AutoCloseable {
  private static final long CLOCK_TICKS = clockTicks();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

  private final String name;
  private final Process process;
  private final Path log;
  private final Duration stopGrace;

  private ServerProcess(String name, Process process, Path log, Duration stopGrace) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.stopGrace = stopGrace;
  }

  /** Starts {@code command} with {@code env} added to this process's environment; output to {@code log}. */
  static ServerProcess start(String name, String cpus, List<String> command, Map<String, String> env, Path log,
      Duration stopGrace) throws IOException {
    List<String> full = new ArrayList<>();
    if (!cpus.isBlank()) {
      full.addAll(List.of("taskset", "-c", cpus));
    }
    full.addAll(command);
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    return new ServerProcess(name, pb.start(), log, stopGrace);
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  /** Until {@code url} answers 200; fails with the log's tail if the process exits or time runs out. */
  void awaitHttp(URI url, Duration timeout) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(2)).GET().build();
    awaitCondition(() -> {
      try {
        return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
      } catch (IOException notYet) {
        return false;
      }
    }, timeout, "200 from " + url);
  }

  /** Until a TCP connection to 127.0.0.1:port succeeds. */
  void awaitPort(int port, Duration timeout) throws Exception {
    awaitCondition(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return true;
      } catch (IOException notYet) {
        return false;
      }
    }, timeout, "port " + port + " open");
  }

  private interface Check {
    boolean done() throws Exception;
  }

  private void awaitCondition(Check check, Duration timeout, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!check.done()) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited with " + process.exitValue() + " before " + what + "; log "
            + log + ":\n" + tail());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + " not ready (" + what + ") within " + timeout + "; log " + log
            + ":\n" + tail());
      }
      Thread.sleep(20);
    }
  }

  String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /** User plus system CPU time so far (utime + stime of /proc/PID/stat, all threads). */
  double cpuSeconds() throws IOException {
    return cpuSecondsOf(pid());
  }

  /** utime + stime of any process (this JVM too), in seconds. */
  static double cpuSecondsOf(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    // fields after "(comm)": state is field 3, utime field 14, stime field 15
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS;
  }

  /** Resident set size (VmRSS of /proc/PID/status). */
  long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS for " + name + " (pid " + pid() + ")");
  }

  boolean alive() {
    return process.isAlive();
  }

  /** SIGTERM to this pid, SIGKILL after the grace. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        System.err.printf("%s (pid %d) still running %d s after SIGTERM: killed%n", name, pid(),
            stopGrace.toSeconds());
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static long clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor(5, TimeUnit.SECONDS);
      return Long.parseLong(out);
    } catch (Exception e) {
      return 100;
    }
  }
}
