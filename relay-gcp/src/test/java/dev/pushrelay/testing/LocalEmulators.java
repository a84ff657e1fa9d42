package dev.pushrelay.testing;

import dev.pushrelay.gcp.GcpEndpoints;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Pub/Sub and one Firestore emulator per test JVM, started on first use and stopped at exit.
 * Each test gets a project of its own, so tests never see each other's topics or documents.
 */
public final class LocalEmulators {
  private static final AtomicInteger PROJECTS = new AtomicInteger();
  private static volatile LocalEmulators shared;

  private final EmulatorProcess pubsub;
  private final EmulatorProcess firestore;

  private LocalEmulators(EmulatorProcess pubsub, EmulatorProcess firestore) {
    this.pubsub = pubsub;
    this.firestore = firestore;
  }

  public static LocalEmulators shared() {
    LocalEmulators e = shared;
    if (e == null) {
      synchronized (LocalEmulators.class) {
        if (shared == null) {
          EmulatorProcess ps = EmulatorProcess.pubsub();
          EmulatorProcess fs;
          try {
            fs = EmulatorProcess.firestore();
          } catch (RuntimeException failed) {
            ps.close();
            throw failed;
          }
          LocalEmulators started = new LocalEmulators(ps, fs);
          Runtime.getRuntime().addShutdownHook(new Thread(started::stop, "stop-emulators"));
          shared = started;
        }
        e = shared;
      }
    }
    return e;
  }

  /** Endpoints for a project no other test uses. */
  public GcpEndpoints newProject() {
    return GcpEndpoints.emulators("test-" + ProcessHandle.current().pid() + "-" + PROJECTS.incrementAndGet(),
        pubsub.host(), firestore.host());
  }

  public String pubsubHost() {
    return pubsub.host();
  }

  public String firestoreHost() {
    return firestore.host();
  }

  private void stop() {
    pubsub.close();
    firestore.close();
  }
}
