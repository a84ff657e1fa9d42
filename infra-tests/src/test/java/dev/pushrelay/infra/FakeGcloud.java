package dev.pushrelay.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A gcloud for running deploy scripts here: first on the PATH, it writes each call to a log and
 * answers by the arms of a bash {@code case "$*" in … esac} the test gives; a call no arm takes
 * succeeds silently. {@code calls TEXT} in an arm counts the logged calls that contain TEXT, this one
 * included, so an arm can fail the first few tries only. A {@code sleep} next to it logs and returns
 * at once, so that a script's waits take no time and can be read back.
 */
final class FakeGcloud {
  private final Path bin;
  private final Path log;

  FakeGcloud(String name, String caseArms) {
    try {
      Path dir = Files.createTempDirectory(Repo.work("fake-gcloud"), name + "-");
      bin = Files.createDirectories(dir.resolve("bin"));
      log = dir.resolve("calls.log");
      Files.createFile(log);
      executable(bin.resolve("gcloud"), """
          #!/usr/bin/env bash
          printf 'gcloud %%s\\n' "$*" >> "$FAKE_GCLOUD_LOG"
          calls() { grep -cF -- "$1" "$FAKE_GCLOUD_LOG" || true; }
          case "$*" in
          %s
          esac
          exit 0
          """.formatted(caseArms));
      executable(bin.resolve("sleep"), """
          #!/usr/bin/env bash
          printf 'sleep %s\\n' "$*" >> "$FAKE_GCLOUD_LOG"
          """);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code command} in {@code dir} with this gcloud first on the PATH. */
  Command.Result run(Path dir, Map<String, String> env, List<String> command) {
    Map<String, String> all = new LinkedHashMap<>(env);
    all.put("PATH", bin + ":" + System.getenv("PATH"));
    all.put("FAKE_GCLOUD_LOG", log.toString());
    return Command.run(dir, Duration.ofMinutes(1), all, command);
  }

  /** Every call so far, in order: "gcloud ARGS" or "sleep SECONDS". */
  List<String> calls() {
    try {
      return new ArrayList<>(Files.readAllLines(log));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  List<String> calls(String containing) {
    return calls().stream().filter(c -> c.contains(containing)).toList();
  }

  private static void executable(Path file, String text) throws IOException {
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
