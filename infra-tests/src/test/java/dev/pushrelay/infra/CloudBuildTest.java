package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** cloudbuild.yaml refers only to files that exist and to substitutions it declares. */
class CloudBuildTest {
  /** Cloud Build's own substitutions; anything else with a $ must be declared (or escaped as $$). */
  private static final Set<String> BUILT_IN = Set.of("PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION",
      "COMMIT_SHA", "SHORT_SHA", "REVISION_ID", "BRANCH_NAME", "TAG_NAME", "REF_NAME", "REPO_NAME",
      "REPO_FULL_NAME", "TRIGGER_NAME", "TRIGGER_BUILD_CONFIG_PATH", "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT");
  /** $NAME or ${NAME}, not preceded by another $ (which escapes it for the shell). */
  private static final Pattern SUBSTITUTION = Pattern.compile("(?<!\\$)\\$(?:\\{([A-Za-z0-9_]+)}|([A-Za-z_][A-Za-z0-9_]*))");
  /** Where build outputs go: never expected in the repository. */
  private static final List<String> GENERATED = List.of("build/", "target/", ".m2/", "node_modules/");

  private static Path root;
  private static JsonNode build;

  @BeforeAll
  static void parse() throws IOException {
    root = Repo.root();
    build = new ObjectMapper(new YAMLFactory()).readTree(root.resolve("cloudbuild.yaml").toFile());
  }

  @Test
  void everyFileAndScriptAStepRefersToExists() {
    Set<String> referenced = new TreeSet<>();
    List<String> missing = missingFiles(build, referenced);
    assertEquals(List.of(), missing, "cloudbuild.yaml refers to files that do not exist");
    assertTrue(referenced.containsAll(List.of("scripts/deploy/smoke-test.mjs", "scripts/deploy/package-functions.sh",
        "terraform", "terraform/environments/staging.tfvars", "terraform/environments/staging.backend.hcl")),
        "the checks found " + referenced);
  }

  /** Files and directories the steps of a build file name that do not exist; what they name goes to {@code referenced}. */
  static List<String> missingFiles(JsonNode build, Set<String> referenced) {
    Path root = Repo.root();
    List<String> missing = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      String id = step.path("id").asText();
      Path dir = root.resolve(step.path("dir").asText(""));
      if (!Files.isDirectory(dir)) {
        missing.add(id + ": dir " + step.path("dir").asText());
        continue;
      }
      List<String> words = new ArrayList<>();
      words.addAll(words(step.path("entrypoint").asText("")));
      step.path("args").forEach(a -> words.addAll(words(a.asText())));
      words.addAll(words(step.path("script").asText("")));
      // Terraform reads the paths after -chdir=DIR (-var-file, -backend-config) from DIR.
      Path chdir = null;
      for (int i = 0; i < words.size(); i++) {
        String word = words.get(i);
        if ((word.equals("-pl") || word.equals("--projects")) && i + 1 < words.size()) {
          missing.addAll(projectListProblems(id, words.get(i + 1)));
          i++;
          continue;
        }
        if (word.startsWith("-chdir=")) {
          String named = word.substring("-chdir=".length());
          referenced.add(named);
          if (!Files.isDirectory(dir.resolve(named))) {
            missing.add(id + ": directory " + named);
          }
          chdir = dir.resolve(named);
          continue;
        }
        String candidate = word.contains("=") ? word.substring(word.lastIndexOf('=') + 1) : word;
        if (!looksLikeRepoPath(candidate)) {
          continue;
        }
        Path resolved = dir.resolve(candidate).normalize();
        if (!Files.exists(resolved) && chdir != null && Files.exists(chdir.resolve(candidate))) {
          resolved = chdir.resolve(candidate).normalize();
        }
        if (!resolved.startsWith(root)) {
          continue;
        }
        String relative = root.relativize(resolved).toString().replace('\\', '/');
        if (GENERATED.stream().anyMatch(g -> relative.startsWith(g) || relative.contains("/" + g))) {
          continue;
        }
        referenced.add(relative);
        if (!Files.exists(resolved)) {
          missing.add(id + ": " + relative);
        }
      }
    }
    return missing;
  }

  @Test
  void stepsHaveUniqueIdsAndWaitOnlyForEarlierSteps() {
    assertEquals(List.of(), orderProblems(build));
  }

  static List<String> orderProblems(JsonNode build) {
    Set<String> seen = new HashSet<>();
    List<String> problems = new ArrayList<>();
    assertFalse(build.path("steps").isEmpty(), "no steps");
    for (JsonNode step : build.path("steps")) {
      String id = step.path("id").asText("");
      if (id.isEmpty() || step.path("name").asText("").isEmpty()) {
        problems.add("every step needs an id and an image (name): " + step);
      }
      for (JsonNode wait : step.path("waitFor")) {
        if (!wait.asText().equals("-") && !seen.contains(wait.asText())) {
          problems.add(id + " waits for " + wait.asText() + ", which is not an earlier step");
        }
      }
      if (!seen.add(id)) {
        problems.add("duplicate step id " + id);
      }
    }
    return problems;
  }

  @Test
  void everySubstitutionIsDeclaredOrBuiltInAndEveryDeclaredOneIsUsed() {
    substitutionsAreDeclaredAndUsed(build);
  }

  static void substitutionsAreDeclaredAndUsed(JsonNode build) {
    Set<String> declared = new TreeSet<>();
    build.path("substitutions").fieldNames().forEachRemaining(declared::add);
    Set<String> used = new TreeSet<>();
    List<String> unknown = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      List<String> texts = new ArrayList<>();
      texts.add(step.path("name").asText(""));
      texts.add(step.path("entrypoint").asText(""));
      texts.add(step.path("dir").asText(""));
      step.path("args").forEach(a -> texts.add(a.asText()));
      step.path("env").forEach(e -> texts.add(e.asText()));
      for (String text : texts) {
        Matcher m = SUBSTITUTION.matcher(text);
        while (m.find()) {
          String name = m.group(1) != null ? m.group(1) : m.group(2);
          used.add(name);
          if (!BUILT_IN.contains(name) && !declared.contains(name)) {
            unknown.add(step.path("id").asText() + ": $" + name + " (escape shell variables as $$)");
          }
        }
      }
    }
    assertEquals(List.of(), unknown);
    Set<String> unused = new TreeSet<>(declared);
    unused.removeAll(used);
    assertEquals(Set.of(), unused, "declared but unused substitutions fail the build");
    declared.forEach(d -> assertTrue(d.startsWith("_"), "user substitutions start with _: " + d));
  }

  @Test
  void theProjectListCheckRefusesWhatMaven3Refuses() {
    assertEquals(List.of("test: -pl !?infra-tests (the ? form needs Maven 4; the image runs Maven 3.9)"),
        projectListProblems("test", "!?infra-tests"));
    assertEquals(List.of("test: Maven module no-such-module"), projectListProblems("test", "!no-such-module"));
    assertEquals(List.of(), projectListProblems("test", "!infra-tests,!clients/js,socket-node,:functions"));
  }

  /** What Maven 3.8 and 3.9 would refuse in a -pl list: module, !module and :artifactId are fine. */
  static List<String> projectListProblems(String id, String list) {
    List<String> problems = new ArrayList<>();
    for (String entry : list.split(",")) {
      // The optional forms ?module and !?module are Maven 4 only: 3.x stops with "Could not find the
      // selected project in the reactor".
      if (entry.contains("?")) {
        problems.add(id + ": -pl " + entry + " (the ? form needs Maven 4; the image runs Maven 3.9)");
        continue;
      }
      String module = entry.startsWith("!") ? entry.substring(1) : entry;
      if (!module.startsWith(":") && !Files.isRegularFile(Repo.root().resolve(module).resolve("pom.xml"))) {
        problems.add(id + ": Maven module " + module);
      }
    }
    return problems;
  }

  private static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    for (String w : text.split("[\\s;|&()<>\"'`]+")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  /** A relative path inside the repository, not a URL, image, flag or shell expansion. */
  private static boolean looksLikeRepoPath(String word) {
    String w = word.startsWith("./") ? word.substring(2) : word;
    if (w.isEmpty() || w.startsWith("/") || w.startsWith("-") || w.contains("$") || w.contains(":")
        || w.contains("*") || w.contains("{")) {
      return false;
    }
    boolean scriptLike = w.matches(".*\\.(sh|mjs|cjs|js|py|tf|json|yaml|yml|xml)$");
    if (!w.contains("/")) {
      return scriptLike;
    }
    String first = w.substring(0, w.indexOf('/'));
    return !(first.contains(".") && !first.equals(".."));
  }
}
