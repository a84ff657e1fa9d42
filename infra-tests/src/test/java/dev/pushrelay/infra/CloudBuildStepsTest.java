package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The steps of cloudbuild.yaml as far as they can run here. Every mvn command line of a step runs
 * with Maven 3.9 (the Maven of the steps' image, from Maven Central as
 * org.apache.maven:apache-maven:zip:bin) on a clean copy of the repository, with its goals replaced
 * by {@code validate}: its reactor must resolve. And every program a step calls (its entrypoint, the
 * commands of its script, those of the repository scripts it runs, and the tools the Maven modules in
 * its reactor run, such as npm) must be on the step's image, by the table below.
 */
class CloudBuildStepsTest {
  /** Programs on most Linux images (coreutils and friends); busybox has them too. */
  private static final Set<String> BASE = Set.of("sh", "cat", "cp", "mv", "rm", "mkdir", "ls", "head", "tail", "sort",
      "tr", "cut", "sed", "grep", "awk", "find", "xargs", "mktemp", "dirname", "basename", "readlink", "wc", "fold",
      "date", "sleep", "seq", "touch", "chmod", "env", "uname", "tee", "du", "base64", "id", "tar", "gzip", "md5sum");
  private static final Set<String> DEBIAN = union(BASE, Set.of("bash", "setsid"));
  /**
   * What each image of cloudbuild.yaml has (after substitution). Maven's image is Eclipse Temurin on
   * Ubuntu: no Node.js. Terraform's is Alpine with busybox: sh, no bash. The gcloud images are Debian
   * with curl and Python; the emulators one adds a JRE for the emulators.
   */
  static final Map<String, Set<String>> IMAGE_TOOLS = new LinkedHashMap<>();

  static {
    IMAGE_TOOLS.put("maven:3.9-eclipse-temurin-17", union(DEBIAN, Set.of("mvn", "java", "jar", "javac", "curl")));
    IMAGE_TOOLS.put("hashicorp/terraform:1.11", union(BASE, Set.of("terraform", "git")));
    IMAGE_TOOLS.put("gcr.io/cloud-builders/docker", union(DEBIAN, Set.of("docker", "curl")));
    IMAGE_TOOLS.put("gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators",
        union(DEBIAN, Set.of("gcloud", "gsutil", "java", "curl", "python3")));
    IMAGE_TOOLS.put("gcr.io/google.com/cloudsdktool/google-cloud-cli:slim",
        union(DEBIAN, Set.of("gcloud", "gsutil", "curl", "python3")));
    IMAGE_TOOLS.put("node:24-slim", union(DEBIAN, Set.of("node", "npm", "npx")));
    // cloudbuild-promote.yaml: gcrane's debug image has a busybox shell beside gcrane
    IMAGE_TOOLS.put("gcr.io/go-containerregistry/gcrane:debug", union(BASE, Set.of("gcrane")));
  }

  /** Cloud Build's own values, for running a command line here. */
  private static final Map<String, String> BUILT_IN = Map.of("PROJECT_ID", "cloudbuild-test-project",
      "BUILD_ID", "00000000-0000-0000-0000-000000000000", "PROJECT_NUMBER", "123456789");
  /** Options of mvn that take the next word as their value. */
  private static final Set<String> MVN_VALUE_OPTIONS = Set.of("-pl", "--projects", "-f", "--file", "-P",
      "--activate-profiles", "-rf", "--resume-from", "-s", "--settings", "-gs", "--global-settings", "-t",
      "--toolchains", "-T", "--threads", "-b", "--builder", "-l", "--log-file", "-D", "--define", "-amd", "-am");
  private static final Pattern BUILDING = Pattern.compile("(?m)^\\[INFO\\] Building (.+?) (\\S+?)(?:\\s+\\[\\d+/\\d+\\])?$");

  private static Path root;
  private static JsonNode build;
  private static Map<String, String> substitutions;
  private static Path cleanCopy;

  @BeforeAll
  static void parse() throws IOException {
    root = Repo.root();
    build = new ObjectMapper(new YAMLFactory()).readTree(root.resolve("cloudbuild.yaml").toFile());
    substitutions = new LinkedHashMap<>(BUILT_IN);
    build.path("substitutions").fields().forEachRemaining(e -> substitutions.put(e.getKey(), e.getValue().asText()));
    substitutions.put("_TF_STATE_BUCKET", "cloudbuild-test-project-relay-tfstate");
  }

  // --- tools -------------------------------------------------------------------------------------

  @Test
  void everyStepsImageHasTheProgramsTheStepCalls() {
    List<String> problems = new ArrayList<>();
    Map<String, Set<String>> called = new TreeMap<>();
    for (JsonNode step : build.path("steps")) {
      String id = step.path("id").asText();
      String image = substitute(step.path("name").asText());
      Set<String> tools = IMAGE_TOOLS.get(image);
      if (tools == null) {
        problems.add(id + ": image " + image + " is not in CloudBuildStepsTest.IMAGE_TOOLS: add what it has");
        continue;
      }
      Set<String> needs = toolsOf(step, problems);
      called.put(id, needs);
      for (String tool : needs) {
        if (!tools.contains(tool)) {
          problems.add(id + ": calls " + tool + ", which " + image + " does not have");
        }
      }
    }
    assertEquals(List.of(), problems, "programs each step calls: " + called);
    // The checks see what matters: Maven steps, the npm in the JavaScript client's build, the
    // repository scripts' own programs.
    assertTrue(called.get("test").contains("mvn"), called.toString());
    assertTrue(called.get("client-js").contains("npm"), called.toString());
    assertTrue(called.get("node-class-archive").contains("curl"), called.toString());
    assertTrue(called.get("package-functions").contains("jar"), called.toString());
  }

  @Test
  void theToolCheckWouldCatchTheJavaScriptClientInTheMavenImage() {
    // The Maven line cloudbuild.yaml had: the whole reactor but infra-tests, clients/js with it.
    List<String> problems = new ArrayList<>();
    Set<String> tools = mavenTools(List.of("-B", "-pl", "!infra-tests", "install"), root, problems);
    assertEquals(List.of(), problems);
    assertTrue(tools.contains("npm"), "clients/js runs npm in its build: " + tools);
    assertFalse(IMAGE_TOOLS.get(substitute("${_MAVEN_IMAGE}")).contains("npm"));
  }

  @Test
  void nodeStepsRunScriptsThatNeedOnlyNodesOwnModules() throws IOException {
    List<String> problems = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      String inline = step.path("args").path(1).asText("");
      if (inline.contains("npm ci") && !Files.isRegularFile(stepDir(step).resolve("package-lock.json"))) {
        problems.add(step.path("id").asText() + ": npm ci needs a package-lock.json in " + relativeDir(step));
      }
      if (!step.path("entrypoint").asText().equals("node")) {
        continue;
      }
      Path script = stepDir(step).resolve(step.path("args").path(0).asText());
      Matcher imports = Pattern.compile("(?m)^import .* from '([^']+)';|require\\('([^']+)'\\)").matcher(Files.readString(script));
      while (imports.find()) {
        String module = imports.group(1) != null ? imports.group(1) : imports.group(2);
        if (!module.startsWith("node:")) {
          problems.add(step.path("id").asText() + ": " + root.relativize(script) + " imports " + module
              + ", which the image does not have (no node_modules in the workspace)");
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  // --- Maven 3.9 -------------------------------------------------------------------------------

  @Test
  void everyMavenCommandLineOfAStepResolvesItsReactorWithMaven39() throws IOException {
    List<String> problems = new ArrayList<>();
    Map<String, List<String>> reactors = new TreeMap<>();
    for (JsonNode step : build.path("steps")) {
      for (List<String> mvn : mavenLines(step)) {
        String id = step.path("id").asText();
        Command.Result r = runMaven(validateOnly(mvn), relativeDir(step));
        if (r.exitCode() != 0 || !r.stdout().contains("BUILD SUCCESS")) {
          problems.add(id + ": " + String.join(" ", mvn) + "\n" + tail(r.stdout(), 40) + tail(r.stderr(), 10));
          continue;
        }
        reactors.put(id, reactor(r.stdout()));
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(reactors.containsKey("test") && reactors.containsKey("image"), "Maven steps found: " + reactors.keySet());
    List<String> test = reactors.get("test");
    assertTrue(test.containsAll(List.of(".", "relay-core", "functions", "socket-node")), "test step reactor: " + test);
    assertFalse(test.contains("infra-tests") || test.contains("clients/js"), "test step reactor: " + test);
    assertEquals(List.of("socket-node"), reactors.get("image"));
  }

  @Test
  void theHarnessIsMaven39WhichRefusesTheMaven4ProjectForm() throws IOException {
    Command.Result r = runMaven(List.of("-B", "-V", "-pl", "!?infra-tests", "validate"), "");
    assertTrue(r.stdout().contains("Apache Maven 3.9."), tail(r.stdout(), 20));
    assertNotEquals(0, r.exitCode(), "Maven 3.9 accepted !?infra-tests");
    assertTrue(r.stdout().contains("Could not find the selected project in the reactor: ?infra-tests"), tail(r.stdout(), 20));
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** The programs a step runs. */
  private static Set<String> toolsOf(JsonNode step, List<String> problems) {
    String id = step.path("id").asText();
    Set<String> out = new LinkedHashSet<>();
    String entrypoint = step.path("entrypoint").asText("");
    if (entrypoint.isEmpty()) {
      problems.add(id + ": give the step an entrypoint, so what it runs can be checked");
      return out;
    }
    out.add(entrypoint);
    List<String> args = new ArrayList<>();
    step.path("args").forEach(a -> args.add(substitute(a.asText()).replace("$$", "$")));
    Path dir = stepDir(step);
    if ((entrypoint.equals("bash") || entrypoint.equals("sh")) && !args.isEmpty() && args.get(0).equals("-c")) {
      String script = args.size() > 1 ? args.get(1) : "";
      out.addAll(scriptTools(script, dir, problems, id));
      for (String line : script.split("\n")) {
        for (String command : mavenCommands(line)) {
          out.addAll(mavenTools(Shell.split(command).subList(1, Shell.split(command).size()), dir, problems));
        }
      }
    } else if ((entrypoint.equals("bash") || entrypoint.equals("sh")) && !args.isEmpty()) {
      Path script = dir.resolve(args.get(0));
      out.addAll(repositoryScriptTools(script, problems, id));
    } else if (entrypoint.equals("npm")) {
      out.add("node");
    }
    return out;
  }

  private static Set<String> scriptTools(String script, Path dir, List<String> problems, String id) {
    Set<String> out = new LinkedHashSet<>();
    for (String command : Shell.commands(script)) {
      if (command.contains("/")) {
        out.addAll(repositoryScriptTools(dir.resolve(command), problems, id));
      } else {
        out.add(command);
        if (command.equals("npm")) {
          out.add("node");
        }
      }
    }
    return out;
  }

  /** A repository script: its interpreter (shebang) and the programs it calls. */
  private static Set<String> repositoryScriptTools(Path script, List<String> problems, String id) {
    Set<String> out = new LinkedHashSet<>();
    if (!Files.isRegularFile(script)) {
      problems.add(id + ": runs " + script + ", which does not exist");
      return out;
    }
    try {
      String text = Files.readString(script);
      String shebang = text.lines().findFirst().orElse("");
      if (shebang.startsWith("#!")) {
        String[] parts = shebang.substring(2).trim().split("\\s+");
        out.add(parts[0].endsWith("/env") && parts.length > 1 ? parts[1] : Path.of(parts[0]).getFileName().toString());
      }
      out.addAll(scriptTools(text, script.getParent(), problems, id));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** mvn command lines in a script line (up to the next ; && || or |). */
  private static List<String> mavenCommands(String line) {
    List<String> out = new ArrayList<>();
    for (String segment : Shell.segments(line)) {
      List<String> words = Shell.split(segment);
      if (!words.isEmpty() && words.get(0).equals("mvn")) {
        out.add(segment.strip());
      }
    }
    return out;
  }

  /** The programs the modules of a Maven reactor run in their builds (exec-maven-plugin executables). */
  private static Set<String> mavenTools(List<String> args, Path dir, List<String> problems) {
    Set<String> out = new LinkedHashSet<>(Set.of("mvn", "java"));
    Set<String> excluded = new TreeSet<>();
    Set<String> selected = new TreeSet<>();
    for (int i = 0; i < args.size(); i++) {
      if ((args.get(i).equals("-pl") || args.get(i).equals("--projects")) && i + 1 < args.size()) {
        for (String entry : args.get(i + 1).split(",")) {
          (entry.startsWith("!") ? excluded : selected).add(entry.replaceFirst("^!", ""));
        }
      }
    }
    for (String module : modules(dir)) {
      if (excluded.contains(module) || !selected.isEmpty() && !selected.contains(module)) {
        continue;
      }
      out.addAll(executables(dir.resolve(module).resolve("pom.xml"), problems));
    }
    return out;
  }

  /** The modules of the aggregator pom in a directory, as relative paths (the root itself is "."). */
  private static List<String> modules(Path dir) {
    List<String> out = new ArrayList<>(List.of("."));
    Document pom = xml(dir.resolve("pom.xml"));
    NodeList modules = pom.getElementsByTagName("module");
    for (int i = 0; i < modules.getLength(); i++) {
      out.add(modules.item(i).getTextContent().trim());
    }
    return out;
  }

  private static Set<String> executables(Path pomFile, List<String> problems) {
    Set<String> out = new LinkedHashSet<>();
    if (!Files.isRegularFile(pomFile)) {
      problems.add("no " + pomFile);
      return out;
    }
    Document pom = xml(pomFile);
    Map<String, String> properties = new LinkedHashMap<>();
    NodeList props = pom.getElementsByTagName("properties");
    for (int i = 0; i < props.getLength(); i++) {
      NodeList children = props.item(i).getChildNodes();
      for (int j = 0; j < children.getLength(); j++) {
        if (children.item(j) instanceof Element e) {
          properties.put(e.getTagName(), e.getTextContent().trim());
        }
      }
    }
    NodeList executables = pom.getElementsByTagName("executable");
    for (int i = 0; i < executables.getLength(); i++) {
      String value = executables.item(i).getTextContent().trim();
      Matcher m = Pattern.compile("\\$\\{([^}]+)}").matcher(value);
      out.add(m.matches() ? properties.getOrDefault(m.group(1), value) : value);
    }
    return out;
  }

  private static Document xml(Path file) {
    try {
      return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
    } catch (Exception e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }

  /** The mvn command lines of a step, as words after substitution. */
  private static List<List<String>> mavenLines(JsonNode step) {
    List<List<String>> out = new ArrayList<>();
    if (!step.path("args").path(0).asText().equals("-c")) {
      return out;
    }
    String script = step.path("args").path(1).asText();
    // Command substitutions ($$(…) in cloudbuild.yaml) stand for values computed by earlier steps.
    script = script.replaceAll("\\$\\$\\([^)]*\\)", "example.invalid/computed-by-an-earlier-step");
    script = substitute(script);
    for (String line : script.split("\n")) {
      for (String command : mavenCommands(line)) {
        out.add(Shell.split(command));
      }
    }
    return out;
  }

  /** The command line with its phases and goals replaced by validate, its repository local. */
  private static List<String> validateOnly(List<String> mvn) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i < mvn.size(); i++) {
      String word = mvn.get(i);
      if (word.startsWith("-Dmaven.repo.local=")) {
        continue; // the shared local repository stands in for /workspace/.m2
      }
      if (MVN_VALUE_OPTIONS.contains(word) && i + 1 < mvn.size()) {
        out.add(word);
        out.add(mvn.get(++i));
      } else if (word.startsWith("-")) {
        out.add(word);
      }
    }
    out.add("validate");
    return out;
  }

  private static Command.Result runMaven(List<String> args, String relativeDir) throws IOException {
    Path home = Path.of(System.getProperty("cloudbuild.maven.home",
        Repo.module().resolve("target/cloudbuild-maven/apache-maven-3.9.16").toString()));
    Path mvn = home.resolve("bin/mvn");
    assertTrue(Files.isExecutable(mvn), mvn + " missing: the maven-dependency-plugin unpacks it (mvn process-test-resources)");
    List<String> command = new ArrayList<>(List.of(mvn.toString()));
    String local = System.getProperty("maven.local.repository");
    if (local != null && !local.isBlank() && !local.contains("${")) {
      command.add("-Dmaven.repo.local=" + local);
    }
    command.addAll(args);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("MAVEN_ARGS", "");
    env.put("MAVEN_OPTS", "-Xmx256m -XX:TieredStopAtLevel=1");
    return Command.run(cleanCopy().resolve(relativeDir), Duration.ofMinutes(5), env, command);
  }

  /**
   * The working tree as a fresh clone would have it: the files git tracks or would track (untracked
   * but not ignored), none of the build outputs.
   */
  private static synchronized Path cleanCopy() throws IOException {
    if (cleanCopy != null) {
      return cleanCopy;
    }
    Path dest = Repo.work("clean-copy");
    try (Stream<Path> old = Files.walk(dest)) {
      for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
        if (!p.equals(dest)) {
          Files.delete(p);
        }
      }
    }
    Command.Result files = Command.run(root, Duration.ofMinutes(1),
        List.of(Command.tool("git"), "ls-files", "-z", "--cached", "--others", "--exclude-standard"));
    assertEquals(0, files.exitCode(), files::describe);
    for (String name : files.stdout().split("\0")) {
      Path source = root.resolve(name);
      if (name.isEmpty() || !Files.isRegularFile(source)) {
        continue; // deleted in the working tree
      }
      Path target = dest.resolve(name);
      Files.createDirectories(target.getParent());
      Files.copy(source, target);
    }
    assertTrue(Files.isRegularFile(dest.resolve("pom.xml")), "clean copy has no pom.xml");
    cleanCopy = dest;
    return dest;
  }

  /** The reactor's modules, as directories relative to the root, in build order. */
  private static List<String> reactor(String stdout) {
    Map<String, String> byName = new LinkedHashMap<>();
    for (String module : modules(root)) {
      Document pom = xml(root.resolve(module).resolve("pom.xml"));
      for (Node n = pom.getDocumentElement().getFirstChild(); n != null; n = n.getNextSibling()) {
        if (n instanceof Element e && e.getTagName().equals("name")) {
          byName.put(e.getTextContent().trim().replaceAll("\\s+", " "), module);
        }
      }
    }
    List<String> out = new ArrayList<>();
    Matcher m = BUILDING.matcher(stdout);
    while (m.find()) {
      out.add(byName.getOrDefault(m.group(1).trim(), "? " + m.group(1)));
    }
    return out;
  }

  private static Path stepDir(JsonNode step) {
    return root.resolve(step.path("dir").asText(""));
  }

  private static String relativeDir(JsonNode step) {
    return step.path("dir").asText("");
  }

  private static String substitute(String text) {
    String out = text;
    for (Map.Entry<String, String> e : substitutions.entrySet()) {
      out = out.replace("${" + e.getKey() + "}", e.getValue());
      out = out.replaceAll("(?<!\\$)\\$" + e.getKey() + "\\b", Matcher.quoteReplacement(e.getValue()));
    }
    return out;
  }

  private static String tail(String text, int lines) {
    List<String> all = text.lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())) + "\n";
  }

  @SafeVarargs
  private static Set<String> union(Set<String>... sets) {
    Set<String> out = new TreeSet<>();
    for (Set<String> s : sets) {
      out.addAll(s);
    }
    return Set.copyOf(out);
  }

  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
