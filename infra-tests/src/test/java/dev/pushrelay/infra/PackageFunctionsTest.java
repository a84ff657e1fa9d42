package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * scripts/deploy/package-functions.sh on a stand-in functions build: the zip holds exactly one
 * top-level jar (what the Java buildpack wants) whose manifest puts every jar of lib/ on the
 * classpath, however many and however long their names.
 */
class PackageFunctionsTest {
  private Path sandbox;

  @BeforeEach
  void sandbox() throws IOException {
    sandbox = Files.createTempDirectory(Repo.work("package-functions"), "run");
  }

  @AfterEach
  void clean() throws IOException {
    try (Stream<Path> files = Files.walk(sandbox)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Test
  void zipHoldsOneLauncherJarWhoseClassPathReachesEveryLibrary() throws IOException {
    Path script = sandbox.resolve("scripts/deploy/package-functions.sh");
    Files.createDirectories(script.getParent());
    Files.copy(Repo.root().resolve("scripts/deploy/package-functions.sh"), script, StandardCopyOption.REPLACE_EXISTING);
    Path target = Files.createDirectories(sandbox.resolve("functions/target/lib"));
    jar(sandbox.resolve("functions/target/functions-0.1.0-SNAPSHOT.jar"), "dev/pushrelay/functions/marker.txt");
    jar(sandbox.resolve("functions/target/functions-0.1.0-SNAPSHOT-sources.jar"), "sources-only.txt");
    List<String> resources = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String resource = "lib-resource-" + i + ".txt";
      resources.add(resource);
      jar(target.resolve("com.example.some-rather-long-artifact-name-number-" + i + "-1.2.3.jar"), resource);
    }

    Path zip = sandbox.resolve("out/functions.zip");
    String path = Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH");
    Command.Result r = Command.run(sandbox, Duration.ofMinutes(1), Map.of("PATH", path),
        List.of(Command.tool("bash"), script.toString(), zip.toString()));
    assertEquals(0, r.exitCode(), r::describe);

    Path unpacked = Files.createDirectories(sandbox.resolve("unpacked"));
    unzip(zip, unpacked);
    List<Path> topLevelJars;
    try (Stream<Path> top = Files.list(unpacked)) {
      topLevelJars = top.filter(p -> p.toString().endsWith(".jar")).toList();
    }
    assertEquals(1, topLevelJars.size(), "the buildpack takes exactly one top-level jar: " + topLevelJars);
    assertTrue(Files.notExists(unpacked.resolve("lib/functions-0.1.0-SNAPSHOT-sources.jar")), "sources jar left out");

    try (URLClassLoader loader = new URLClassLoader(new URL[] {topLevelJars.get(0).toUri().toURL()}, null)) {
      assertNotNull(loader.getResource("dev/pushrelay/functions/marker.txt"), "the functions jar is on the classpath");
      for (String resource : resources) {
        assertNotNull(loader.getResource(resource), resource + " is on the classpath");
      }
    }
  }

  @Test
  void refusesToPackWithoutABuild() throws IOException {
    Path script = sandbox.resolve("scripts/deploy/package-functions.sh");
    Files.createDirectories(script.getParent());
    Files.copy(Repo.root().resolve("scripts/deploy/package-functions.sh"), script);
    Command.Result r = Command.run(sandbox, Duration.ofMinutes(1),
        List.of(Command.tool("bash"), script.toString(), sandbox.resolve("out.zip").toString()));
    assertEquals(1, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("mvn -pl functions -am package"), r::describe);
  }

  private static void jar(Path file, String resource) throws IOException {
    try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out)) {
      jar.putNextEntry(new JarEntry(resource));
      jar.write(resource.getBytes(StandardCharsets.UTF_8));
      jar.closeEntry();
    }
  }

  private static void unzip(Path zip, Path into) throws IOException {
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        Path dest = into.resolve(e.getName()).normalize();
        assertTrue(dest.startsWith(into), "entry escapes the folder: " + e.getName());
        if (e.isDirectory()) {
          Files.createDirectories(dest);
        } else {
          Files.createDirectories(dest.getParent());
          Files.copy(in, dest);
        }
      }
    }
  }
}
