package dev.pushrelay.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository and this module's scratch folder are. */
final class Repo {
  private Repo() {}

  /** The repository root: set by surefire, else found from the working directory. */
  static Path root() {
    String configured = System.getProperty("repo.root");
    Path start = configured != null ? Path.of(configured) : Path.of("").toAbsolutePath();
    for (Path p = start.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("config/topology.json")) && Files.isDirectory(p.resolve("terraform"))) {
        return p;
      }
    }
    throw new IllegalStateException("no repository root (config/topology.json and terraform/) above " + start);
  }

  static Path module() {
    return root().resolve("infra-tests");
  }

  /** A folder under target/ for tools and temporary files; created on first use. */
  static Path work(String name) {
    String configured = System.getProperty("infra.work");
    Path base = configured != null ? Path.of(configured) : module().resolve("target/infra-work");
    Path dir = base.resolve(name);
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
  }
}
