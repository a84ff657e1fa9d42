package dev.pushrelay.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The relay's fan-out maximum that phase 3 wrote to {@code fanout.json}: {@code relay.maxRatePerSecond}. */
final class FanoutMaximum {
  private FanoutMaximum() {}

  /** The maximum, or why there is none (file missing, unreadable, field absent or not positive). */
  static Optional<Double> read(Path file, StringBuilder why) {
    if (!Files.isRegularFile(file)) {
      why.append(file.getFileName()).append(" is missing (phase 3 did not run in this results directory)");
      return Optional.empty();
    }
    try {
      JsonNode max = JsonCodec.mapper().readTree(Files.readAllBytes(file)).path("relay").path("maxRatePerSecond");
      if (!max.isNumber() || max.asDouble() <= 0) {
        why.append(file.getFileName()).append(" has no positive relay.maxRatePerSecond");
        return Optional.empty();
      }
      return Optional.of(max.asDouble());
    } catch (Exception e) {
      why.append(file.getFileName()).append(" is unreadable: ").append(e.getMessage());
      return Optional.empty();
    }
  }
}
