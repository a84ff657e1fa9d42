package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The validation blocks of terraform/variables.tf, run by Terraform itself: a plan of variables.tf
 * alone needs no provider, so it runs here offline and evaluates every validation. Settings Cloud
 * Run or the socket node would refuse halfway through an apply must stop at the plan instead.
 */
class VariableValidationTest {
  private static final Map<String, Object> REQUIRED = Map.of("project_id", "p", "environment", "staging",
      "socket_node_image", "example.invalid/node:1");
  private static final String DIGEST = "example.invalid/node@sha256:" + "0123456789abcdef".repeat(4);
  private static final Pattern TF_REGEX = Pattern.compile("regex\\(\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern JAVA_ORIGIN = Pattern.compile("ORIGIN = Pattern\\.compile\\(\"((?:[^\"\\\\]|\\\\.)*)\"\\)");

  private static Path dir;

  @BeforeAll
  static void init() throws IOException {
    dir = Repo.work("variable-validation");
    Files.copy(Repo.root().resolve("terraform/variables.tf"), dir.resolve("variables.tf"), StandardCopyOption.REPLACE_EXISTING);
    Command.Result r = terraform(List.of("init", "-input=false", "-backend=false", "-no-color"));
    assertEquals(0, r.exitCode(), r::describe);
  }

  @Test
  void theDefaultsAndSoundSettingsPlan() throws IOException {
    for (Map<String, Object> ok : List.of(
        Map.<String, Object>of(),
        Map.<String, Object>of("socket_node_concurrency", 1, "socket_node_cpu", "0.5"),
        Map.<String, Object>of("socket_node_cpu", "2000m", "socket_node_min_instances", 20, "socket_node_max_instances", 20),
        Map.<String, Object>of("function_concurrency", 1, "function_cpu", "0.583"),
        Map.<String, Object>of("allowed_origins", List.of("https://app.example.com", "http://localhost:8080", "http://[::1]:8090")),
        Map.<String, Object>of("smoke_test_invoker", "serviceAccount:relay-deployer@p.iam.gserviceaccount.com",
            "send_function_invokers", List.of("serviceAccount:backend@p.iam.gserviceaccount.com", "group:team@example.com")),
        Map.<String, Object>of("alert_email", "ops@example.com",
            "alert_notification_channels", List.of("projects/p/notificationChannels/123")),
        Map.<String, Object>of("environment", "production", "socket_node_image", DIGEST))) {
      Command.Result r = plan(ok);
      assertEquals(0, r.exitCode(), () -> ok + "\n" + r.describe());
    }
  }

  @Test
  void settingsTheCloudOrTheNodeWouldRefuseStopAtThePlan() throws IOException {
    Map<Map<String, Object>, String> cases = new LinkedHashMap<>();
    cases.put(Map.of("socket_node_min_instances", 30), "socket_node_min_instances must not be more than");
    cases.put(Map.of("socket_node_cpu", "0.5"), "at least 1 vCPU");
    cases.put(Map.of("socket_node_cpu", "500m"), "at least 1 vCPU");
    cases.put(Map.of("socket_node_cpu", "one"), "socket_node_cpu is a number of vCPUs");
    cases.put(Map.of("function_cpu", "0.583"), "at least 1 vCPU");
    cases.put(Map.of("function_concurrency", 0), "function_concurrency must be between 1 and 1000");
    cases.put(Map.of("smoke_test_invoker", "serviceAccount:"), "not a bare");
    cases.put(Map.of("smoke_test_invoker", "allUsers"), "IAM-only");
    cases.put(Map.of("send_function_invokers", List.of("serviceAccount:")), "IAM members with an identity");
    cases.put(Map.of("allowed_origins", List.of("https://app.example.com/")), "no trailing slash");
    cases.put(Map.of("allowed_origins", List.of("https://*.example.com")), "no wildcard");
    cases.put(Map.of("allowed_origins", List.of("https://app.example.com/app")), "no path");
    cases.put(Map.of("alert_email", "ops"), "alert_email is empty or one email address");
    cases.put(Map.of("environment", "prod"), "environment is staging or production");
    // production runs the digest staging ran, never a tag that may have moved
    cases.put(Map.of("environment", "production"), "must be pinned by digest");
    cases.put(Map.of("environment", "production", "socket_node_image", DIGEST.replace("@sha256:", ":")), "must be pinned by digest");
    cases.put(Map.of("environment", "production", "socket_node_image", DIGEST.substring(0, DIGEST.length() - 1)),
        "must be pinned by digest");
    List<String> problems = new ArrayList<>();
    for (Map.Entry<Map<String, Object>, String> c : cases.entrySet()) {
      Command.Result r = plan(c.getKey());
      String output = (r.stdout() + r.stderr()).replace("│", " ").replaceAll("\\s+", " ");
      if (r.exitCode() == 0 || !output.contains(c.getValue())) {
        problems.add(c.getKey() + " should fail with \"" + c.getValue() + "\":\n" + r.describe());
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void allowedOriginsAreExactlyTheOriginsTheNodeAccepts() throws IOException {
    String variables = Files.readString(Repo.root().resolve("terraform/variables.tf"));
    String block = variables.substring(variables.indexOf("variable \"allowed_origins\""));
    block = block.substring(0, block.indexOf("\n}\n"));
    Matcher tf = TF_REGEX.matcher(block);
    assertTrue(tf.find(), "allowed_origins has a regex validation");
    Pattern terraform = Pattern.compile(tf.group(1).replace("\\\\", "\\").replace("\\\"", "\""));
    Matcher java = JAVA_ORIGIN.matcher(Files.readString(
        Repo.root().resolve("socket-node/src/main/java/dev/pushrelay/node/config/NodeConfig.java")));
    assertTrue(java.find(), "NodeConfig.ORIGIN");
    Pattern node = Pattern.compile(java.group(1).replace("\\\\", "\\"));
    List<String> differ = new ArrayList<>();
    for (String origin : List.of("https://app.example.com", "http://localhost:8080", "https://a.b-c.d:443",
        "http://[::1]:8090", "http://127.0.0.1", "https://app.example.com/", "https://*.example.com",
        "app.example.com", "https://app.example.com/path", "ftp://example.com", "https://example.com:123456",
        "HTTPS://APP.EXAMPLE.COM", " https://app.example.com", "https://a.com,https://b.com", "https://", "http://[::1",
        "https://user@example.com", "https://example.com?x=1", "https://example.com#x", "")) {
      boolean byTerraform = terraform.matcher(origin).find();
      boolean byNode = node.matcher(origin).matches();
      if (byTerraform != byNode) {
        differ.add("\"" + origin + "\": terraform " + byTerraform + ", node " + byNode);
      }
    }
    assertEquals(List.of(), differ, "variables.tf and NodeConfig.ORIGIN must accept the same origins");
  }

  private static Command.Result plan(Map<String, Object> vars) throws IOException {
    Map<String, Object> all = new LinkedHashMap<>(REQUIRED);
    all.putAll(vars);
    Path file = Files.createTempFile(dir, "case", ".tfvars.json");
    try {
      new ObjectMapper().writeValue(file.toFile(), all);
      return terraform(List.of("plan", "-input=false", "-no-color", "-lock=false", "-refresh=false",
          "-var-file=" + file.getFileName()));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static Command.Result terraform(List<String> args) {
    List<String> command = new ArrayList<>(List.of(Command.tool("terraform")));
    command.addAll(args);
    return Command.run(dir, Duration.ofMinutes(1), Map.of("TF_IN_AUTOMATION", "1", "CHECKPOINT_DISABLE", "1",
        "TF_CLI_CONFIG_FILE", "/dev/null"), command);
  }
}
