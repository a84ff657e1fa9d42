package dev.pushrelay.infra;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs an external program to completion within a time limit. Output goes to files, so a chatty
 * program never blocks on a full pipe. Whatever is still running at the end (the program or its
 * children) is stopped by process id.
 */
final class Command {
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    String describe() {
      return String.join(" ", command) + " exited " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  private Command() {}

  static Result run(Path dir, Duration timeout, Map<String, String> env, List<String> command) {
    Path out = null;
    Path err = null;
    Process process = null;
    try {
      out = Files.createTempFile("infra-cmd", ".out");
      err = Files.createTempFile("infra-cmd", ".err");
      ProcessBuilder builder = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile());
      builder.environment().putAll(env);
      process = builder.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        stop(process);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout
            + "\n--- stdout\n" + read(out) + "\n--- stderr\n" + read(err));
      }
      return new Result(List.copyOf(command), process.exitValue(), read(out), read(err));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + String.join(" ", command), e);
    } finally {
      if (process != null && process.isAlive()) {
        stop(process);
      }
      delete(out);
      delete(err);
    }
  }

  static Result run(Path dir, Duration timeout, List<String> command) {
    return run(dir, timeout, Map.of(), command);
  }

  /** Stops the program and every process it started, by process id, and waits until they are gone. */
  static void stop(Process process) {
    List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
    all.add(process.toHandle());
    for (ProcessHandle handle : all) {
      handle.destroyForcibly();
    }
    for (ProcessHandle handle : all) {
      try {
        handle.onExit().get(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (ExecutionException | TimeoutException e) {
        // gone or unkillable: nothing more to do from here
      }
    }
  }

  /** The program's path: on the PATH, else in /usr/local/bin, else a test failure saying what is missing. */
  static String tool(String name) {
    String path = System.getenv("PATH");
    List<String> dirs = new ArrayList<>(path == null ? List.of() : List.of(path.split(File.pathSeparator)));
    dirs.add("/usr/local/bin");
    dirs.add(Path.of(System.getProperty("java.home"), "bin").toString());
    for (String dir : dirs) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new AssertionError(name + " is needed by the infra tests but is not on the PATH");
  }

  private static String read(Path file) {
    try {
      return file == null ? "" : Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }

  private static void delete(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // a temp file left behind is harmless
      }
    }
  }
}
