package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * cloudbuild-promote.yaml, production's deploy path: it builds nothing, deploys only an image pinned by
 * digest and the functions source whose bytes match its name, copies the image without changing its
 * digest, and otherwise holds to what cloudbuild.yaml is checked for.
 */
class PromoteBuildTest {
  private static final String FILE = "cloudbuild-promote.yaml";
  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{(_[A-Z0-9_]+)}|\\$(PROJECT_ID|BUILD_ID)\\b");
  private static final String DIGEST = "sha256:" + "0123456789abcdef".repeat(4);
  private static final String STAGING_IMAGE = "us-central1-docker.pkg.dev/staging/push-relay/socket-node@" + DIGEST;

  private static JsonNode build;

  @BeforeAll
  static void parse() throws IOException {
    build = new ObjectMapper(new YAMLFactory()).readTree(Repo.root().resolve(FILE).toFile());
  }

  @Test
  void nothingIsBuiltOnTheWayToProduction() {
    List<String> problems = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      String text = (step.path("name").asText() + " " + step.path("entrypoint").asText() + " " + step.path("args")).toLowerCase();
      for (String building : List.of("mvn", "jib", "maven", "package-functions", "node-class-archive", "docker build",
          "cloud-builders/docker", "npm ", "gcloud builds", "--source", "buildpacks", "pack build")) {
        if (text.contains(building)) {
          problems.add(step.path("id").asText() + " builds: " + building);
        }
      }
    }
    assertEquals(List.of(), problems);
    JsonNode deploy = step("deploy");
    String apply = deploy.path("args").path(1).asText();
    assertTrue(apply.contains("-var=\"socket_node_image=$$(cat build/socket-node-image)\""), apply);
    assertTrue(apply.contains("-var=\"functions_source_zip=/workspace/build/functions.zip\""), apply);
    assertTrue(step("copy-image").path("args").path(1).asText().contains("> build/socket-node-image"));
    assertTrue(step("release-check").path("args").path(1).asText().contains("build/functions.zip"));
    assertTrue(step("canary").path("args").path(1).asText().contains("--image \"$$(cat build/socket-node-image)\""),
        "the canary runs the copied digest, the one Terraform then applies");
  }

  @Test
  void itHoldsToTheRulesOfABuildFile() {
    assertEquals(List.of(), CloudBuildTest.orderProblems(build));
    CloudBuildTest.substitutionsAreDeclaredAndUsed(build);
    Set<String> referenced = new TreeSet<>();
    assertEquals(List.of(), CloudBuildTest.missingFiles(build, referenced));
    assertTrue(referenced.containsAll(List.of("scripts/deploy/canary.sh", "scripts/deploy/smoke-test.mjs",
        "terraform/environments/production.tfvars", "terraform/environments/production.backend.hcl")), referenced.toString());
    // the settings step is cloudbuild.yaml's, which SettingsStepTest runs
    try {
      JsonNode staging = new ObjectMapper(new YAMLFactory()).readTree(Repo.root().resolve("cloudbuild.yaml").toFile());
      JsonNode settings = null;
      for (JsonNode s : staging.path("steps")) {
        if (s.path("id").asText().equals("deployer-settings")) {
          settings = s;
        }
      }
      assertNotNull(settings);
      assertEquals(settings.path("args"), step("deployer-settings").path("args"));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void everyStepsImageHasTheProgramsTheStepCalls() throws IOException {
    List<String> problems = new ArrayList<>();
    for (JsonNode step : build.path("steps")) {
      String image = substitute(step.path("name").asText(), Map.of());
      Set<String> tools = CloudBuildStepsTest.IMAGE_TOOLS.get(image);
      if (tools == null) {
        problems.add(step.path("id").asText() + ": image " + image + " is not in CloudBuildStepsTest.IMAGE_TOOLS");
        continue;
      }
      Set<String> needs = new TreeSet<>();
      needs.add(step.path("entrypoint").asText());
      String script = step.path("args").path(0).asText().equals("-c") ? step.path("args").path(1).asText().replace("$$", "$") : "";
      for (String command : Shell.commands(script)) {
        if (command.endsWith(".sh")) {
          needs.addAll(Shell.commands(Files.readString(Repo.root().resolve(command))));
          needs.add("bash");
        } else {
          needs.add(command);
        }
      }
      needs.removeAll(tools);
      needs.forEach(n -> problems.add(step.path("id").asText() + ": calls " + n + ", which " + image + " does not have"));
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void theCanaryStepNamesTheServiceTerraformMakesInProduction() {
    TerraformConfig tf = TerraformConfig.load();
    String name = tf.resource("google_cloud_run_v2_service", "socket_node").orElseThrow().text("name")
        .replace("${var.environment}", "production");
    String canary = step("canary").path("args").path(1).asText();
    assertTrue(canary.contains("--service " + name + " "), name + " in " + canary);
    assertTrue(step("next").path("args").path(1).asText().contains("--service " + name + " "));
  }

  @Test
  void aTagIsRefusedBeforeAnythingHappens() throws IOException {
    Path workspace = workspace("tag");
    FakeGcloud gcloud = new FakeGcloud("promote-tag", copyArm(workspace));
    Command.Result r = releaseCheck(gcloud, workspace, "us-central1-docker.pkg.dev/staging/push-relay/socket-node:latest",
        "gs://staging-relay-staging-functions/functions-" + md5(Files.readAllBytes(workspace.resolve("zip"))) + ".zip");
    assertNotEquals(0, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("pinned by digest"), r::describe);
    assertEquals(List.of(), gcloud.calls());
  }

  @Test
  void theDigestAndTheSourceWhoseBytesMatchItsNamePass() throws IOException {
    Path workspace = workspace("ok");
    FakeGcloud gcloud = new FakeGcloud("promote-ok", copyArm(workspace));
    String source = "gs://staging-relay-staging-functions/functions-" + md5(Files.readAllBytes(workspace.resolve("zip"))) + ".zip";
    Command.Result r = releaseCheck(gcloud, workspace, STAGING_IMAGE, source);
    assertEquals(0, r.exitCode(), r::describe);
    assertEquals(STAGING_IMAGE + "\n", Files.readString(workspace.resolve("build/release-image")));
    assertEquals(List.of("gcloud storage cp " + source + " build/functions.zip"), gcloud.calls());
  }

  @Test
  void aSourceWhoseBytesDifferFromItsNameIsRefused() throws IOException {
    Path workspace = workspace("tampered");
    FakeGcloud gcloud = new FakeGcloud("promote-tampered", copyArm(workspace));
    Command.Result r = releaseCheck(gcloud, workspace, STAGING_IMAGE,
        "gs://staging-relay-staging-functions/functions-" + "0".repeat(32) + ".zip");
    assertNotEquals(0, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("not the object staging deployed"), r::describe);
    assertFalse(Files.exists(workspace.resolve("build/release-image")));
  }

  @Test
  void theCopyKeepsTheDigestOrStops() throws IOException {
    for (boolean same : List.of(true, false)) {
      Path workspace = workspace("copy-" + same);
      Files.writeString(workspace.resolve("build/release-image"), STAGING_IMAGE + "\n");
      Path bin = Files.createDirectories(workspace.resolve("bin"));
      Path gcrane = bin.resolve("gcrane");
      Files.writeString(gcrane, """
          #!/usr/bin/env bash
          printf 'gcrane %%s\\n' "$*" >> "$(dirname "$0")/calls.log"
          if [ "$1" = digest ]; then echo %s; fi
          """.formatted(same ? DIGEST : "sha256:" + "f".repeat(64)));
      Files.setPosixFilePermissions(gcrane, PosixFilePermissions.fromString("rwxr-xr-x"));
      Map<String, String> env = new LinkedHashMap<>();
      env.put("PATH", bin + ":" + System.getenv("PATH"));
      Command.Result r = Command.run(workspace, Duration.ofMinutes(1), env,
          List.of("sh", "-c", script("copy-image", Map.of())));
      List<String> calls = Files.readAllLines(bin.resolve("calls.log"));
      String dest = "us-central1-docker.pkg.dev/production/push-relay/socket-node";
      assertEquals("gcrane cp " + STAGING_IMAGE + " " + dest + ":promoted-build-1", calls.get(0));
      if (same) {
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(dest + "@" + DIGEST + "\n", Files.readString(workspace.resolve("build/socket-node-image")));
      } else {
        assertNotEquals(0, r.exitCode(), r::describe);
        assertFalse(Files.exists(workspace.resolve("build/socket-node-image")));
      }
    }
  }

  private static Command.Result releaseCheck(FakeGcloud gcloud, Path workspace, String image, String source) {
    return gcloud.run(workspace, Map.of(), List.of("bash", "-c",
        script("release-check", Map.of("_SOCKET_NODE_IMAGE", image, "_FUNCTIONS_SOURCE", source))));
  }

  /** gcloud storage cp SOURCE DEST copies the workspace's zip to DEST. */
  private static String copyArm(Path workspace) {
    return """
        "storage cp "*) cp "%s/zip" "${@: -1}" ;;
        """.formatted(workspace);
  }

  private static Path workspace(String name) throws IOException {
    Path workspace = Files.createTempDirectory(Repo.work("promote-build"), name + "-");
    Files.createDirectories(workspace.resolve("build"));
    Files.write(workspace.resolve("zip"), ("functions deployable " + name).getBytes());
    return workspace;
  }

  /** A step's script as Cloud Build hands it to the shell. */
  private static String script(String id, Map<String, String> values) {
    return substitute(step(id).path("args").path(1).asText(), values).replace("$$", "$");
  }

  private static String substitute(String text, Map<String, String> values) {
    Map<String, String> all = new LinkedHashMap<>();
    build.path("substitutions").fields().forEachRemaining(e -> all.put(e.getKey(), e.getValue().asText()));
    all.put("_TF_STATE_BUCKET", "production-relay-tfstate");
    all.put("PROJECT_ID", "production");
    all.put("BUILD_ID", "build-1");
    all.putAll(values);
    Matcher m = SUBSTITUTION.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(2);
      boolean escaped = m.start() > 0 && text.charAt(m.start() - 1) == '$';
      m.appendReplacement(sb, Matcher.quoteReplacement(escaped ? m.group() : all.getOrDefault(name, m.group())));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static JsonNode step(String id) {
    for (JsonNode s : build.path("steps")) {
      if (s.path("id").asText().equals(id)) {
        return s;
      }
    }
    throw new AssertionError(FILE + " has no step " + id);
  }

  private static String md5(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
