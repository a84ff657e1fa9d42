package dev.pushrelay.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A Pub/Sub or Firestore emulator from the gcloud SDK on this machine, started as a child process on
 * a free loopback port and stopped by its process id.
 */
public final class EmulatorProcess implements AutoCloseable {
  private final Process process;
  private final int port;
  private final String name;

  private EmulatorProcess(String name, Process process, int port) {
    this.name = name;
    this.process = process;
    this.port = port;
  }

  public static EmulatorProcess pubsub() {
    Path lib = sdkRoot().resolve("platform/pubsub-emulator/lib");
    Path jar;
    try (Stream<Path> files = Files.list(lib)) {
      jar = files.filter(p -> p.getFileName().toString().startsWith("cloud-pubsub-emulator")
          && p.getFileName().toString().endsWith(".jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no Pub/Sub emulator jar in " + lib));
    } catch (IOException e) {
      throw new UncheckedIOException("the Pub/Sub emulator is not installed under " + lib, e);
    }
    int port = freePort();
    return start("pubsub-emulator", port,
        List.of(java(), "-Xmx512m", "-jar", jar.toString(), "--host=127.0.0.1", "--port=" + port));
  }

  public static EmulatorProcess firestore() {
    Path jar = sdkRoot().resolve("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException("the Firestore emulator is not installed: " + jar);
    }
    int port = freePort();
    return start("firestore-emulator", port, List.of(java(), "-Xmx512m", "-cp", jar.toString(),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start", "--host=127.0.0.1",
        "--port=" + port, "--database-mode=firestore-native"));
  }

  public String host() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Stops the emulator and anything it started, by process id. */
  @Override
  public void close() {
    ProcessHandle handle = process.toHandle();
    handle.descendants().forEach(ProcessHandle::destroy);
    handle.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        handle.descendants().forEach(ProcessHandle::destroyForcibly);
        handle.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static EmulatorProcess start(String name, int port, List<String> command) {
    try {
      File log = Files.createTempFile(name + "-", ".log").toFile();
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
      EmulatorProcess emulator = new EmulatorProcess(name, p, port);
      emulator.awaitListening(Duration.ofSeconds(90), log.toPath());
      return emulator;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  private void awaitListening(Duration timeout, Path log) {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + log);
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        try {
          process.waitFor(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    close();
    throw new IllegalStateException(name + " did not listen on " + port + " within " + timeout + "; see " + log);
  }

  /**
   * A port for a process this test run starts, below the kernel's ephemeral range (32768 and up
   * here), so that no outgoing connection can take it between now and the moment the process
   * binds it: a port the kernel handed out as free was taken by a client socket of the stack itself
   * in CI, and a node exited with "Address already in use". Each port is handed out once per JVM
   * and checked bindable on every interface, as the processes bind.
   */
  public static synchronized int freePort() {
    for (int tries = 0; tries < 2_000; tries++) {
      int port = FIRST_PORT + RANDOM.nextInt(LAST_PORT - FIRST_PORT);
      if (HANDED_OUT.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(port));
        HANDED_OUT.add(port);
        return port;
      } catch (IOException taken) {
        // another process holds it; try the next
      }
    }
    throw new IllegalStateException("no free port in " + FIRST_PORT + ".." + LAST_PORT);
  }

  private static final int FIRST_PORT = 20_000;
  private static final int LAST_PORT = 32_000;
  private static final Random RANDOM = new Random();
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** The gcloud SDK: {@code CLOUDSDK_ROOT_DIR}, else where the {@code gcloud} on the PATH lives. */
  static Path sdkRoot() {
    Optional<String> env = Optional.ofNullable(System.getenv("CLOUDSDK_ROOT_DIR"));
    if (env.isPresent()) {
      return Path.of(env.get());
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path gcloud = Path.of(dir, "gcloud");
      if (Files.isExecutable(gcloud)) {
        try {
          return gcloud.toRealPath().getParent().getParent();
        } catch (IOException e) {
          // try the next PATH entry
        }
      }
    }
    return Path.of("/usr/lib/google-cloud-sdk");
  }
}
