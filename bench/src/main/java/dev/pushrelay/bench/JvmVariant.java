package dev.pushrelay.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A way to start a JVM for the cold-start phase: which {@code java}, and which class-data-sharing
 * archive, if any, the bench builds from a training run first.
 *
 * @param jvm a short name of the JDK ("java17")
 * @param java the {@code java} launcher
 * @param feature which archive, if any
 */
record JvmVariant(String jvm, Path java, int major, Archive feature) {

  /** The kinds of archive a training run leaves behind. */
  enum Archive {
    /** Only the JDK's own default CDS archive (on by default since JDK 12). */
    NONE("", "default CDS (JDK classes only)"),
    /** A dynamic AppCDS archive of the classes the training run loaded (JDK 13+). */
    APP_CDS("jsa", "AppCDS (dynamic archive)"),
    /** An AOT cache: classes loaded and linked, plus method profiles (JEP 483/514/515, JDK 25). */
    AOT_CACHE("aot", "AOT cache");

    final String extension;
    final String label;

    Archive(String extension, String label) {
      this.extension = extension;
      this.label = label;
    }
  }

  String name() {
    return switch (feature) {
      case NONE -> jvm;
      case APP_CDS -> jvm + "+appcds";
      case AOT_CACHE -> jvm + "+aot";
    };
  }

  /** Whether this JDK has the feature at all (the AOT cache's one-step training needs JDK 25). */
  boolean supported() {
    return feature != Archive.AOT_CACHE || major >= 25;
  }

  /** The flags of a training run that writes {@code archive} when the JVM exits. */
  List<String> trainingFlags(Path archive) {
    return switch (feature) {
      case NONE -> List.of();
      case APP_CDS -> List.of("-XX:ArchiveClassesAtExit=" + archive);
      case AOT_CACHE -> List.of("-XX:AOTCacheOutput=" + archive);
    };
  }

  /** The flags of a measured run that maps {@code archive}; a JVM that cannot use it runs without it. */
  List<String> runFlags(Path archive) {
    return switch (feature) {
      case NONE -> List.of();
      case APP_CDS -> List.of("-XX:SharedArchiveFile=" + archive);
      case AOT_CACHE -> List.of("-XX:AOTCache=" + archive);
    };
  }

  /** The major version of the JDK behind {@code java}, from its {@code release} file. */
  static int majorVersion(Path java) throws IOException {
    Path home = java.toRealPath().getParent().getParent();
    Optional<String> line = Files.readAllLines(home.resolve("release")).stream()
        .filter(l -> l.startsWith("JAVA_VERSION=")).findFirst();
    Matcher m = Pattern.compile("\"(\\d+)").matcher(line.orElse(""));
    if (!m.find()) {
      throw new IOException("no JAVA_VERSION in " + home.resolve("release"));
    }
    return Integer.parseInt(m.group(1));
  }
}
