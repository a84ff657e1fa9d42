package dev.pushrelay.gcp;

import dev.pushrelay.config.EnvReader;
import java.util.Optional;

/**
 * Where the cloud is: the project and, for the local stack and tests, the emulators. Only this
 * record and {@link GcpClients} know about {@code PUBSUB_EMULATOR_HOST} and {@code FIRESTORE_EMULATOR_HOST}.
 */
public record GcpEndpoints(String projectId, Optional<String> pubsubEmulatorHost, Optional<String> firestoreEmulatorHost) {
  public GcpEndpoints {
    if (projectId == null || projectId.isBlank()) {
      throw new IllegalArgumentException("projectId is required");
    }
  }

  public static GcpEndpoints read(EnvReader env) {
    String project = env.optional("GOOGLE_CLOUD_PROJECT").or(() -> env.optional("GCP_PROJECT")).orElse("");
    if (project.isEmpty()) {
      env.problem("GOOGLE_CLOUD_PROJECT is required");
      project = "unset";
    }
    return new GcpEndpoints(project, env.optional("PUBSUB_EMULATOR_HOST"), env.optional("FIRESTORE_EMULATOR_HOST"));
  }

  public static GcpEndpoints emulators(String projectId, String pubsubHost, String firestoreHost) {
    return new GcpEndpoints(projectId, Optional.of(pubsubHost), Optional.of(firestoreHost));
  }
}
