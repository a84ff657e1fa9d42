package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.pushrelay.infra.TerraformConfig.Block;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Staging and production come from one configuration and differ only in their variables
 * (terraform/environments/ENV.tfvars) and their state (ENV.backend.hcl). Their names and states
 * cannot collide: every name Terraform chooses is evaluated here for both environments, in the same
 * project even, and differs; the only names that are equal are those the code reads from
 * config/topology.json and the Firestore (default) database, which docs/DEPLOY.md names as the reason
 * each environment has a project of its own.
 */
class EnvironmentsTest {
  /** Attributes that name a resource in its project (or, for buckets, globally). */
  private static final List<String> NAME_ATTRIBUTES = List.of("name", "account_id", "role_id", "display_name");
  private static final Pattern REFERENCE = Pattern.compile("^\\$\\{(?:google|time)_[a-z0-9_]+\\.[^}]*}$");
  private static final Pattern EACH = Pattern.compile("^\\$\\{each\\.value\\.([a-z_]+)}$");
  private static final Pattern FOR_EACH_LOCAL = Pattern.compile("^\\$\\{local\\.([a-z_]+)}$");
  private static final Pattern DASHBOARD_NAME = Pattern.compile("displayName\\s*=\\s*\"([^\"]*)\"");
  /** A project id as long as Google allows (30 characters), to check the names' lengths with. */
  private static final String LONGEST_PROJECT = "p".repeat(30);
  /** Names the environments may share because something else keeps them apart. */
  private static final Map<String, String> SCOPED = Map.of(
      "google_storage_bucket_object.functions_source", "an object in its environment's own bucket");

  private static TerraformConfig tf;
  private static Path environments;
  private static Map<String, JsonNode> files;
  private static List<String> names;

  @BeforeAll
  static void load() throws IOException {
    tf = TerraformConfig.load();
    environments = Repo.root().resolve("terraform/environments");
    try (Stream<Path> list = Files.list(environments)) {
      files = TerraformConfig.parseHcl(list.sorted().toList());
    }
    JsonNode variable = tf.variables().get("environment");
    assertNotNull(variable, "terraform/ declares var.environment");
    names = new ArrayList<>();
    String condition = TerraformConfig.at(variable, "validation", "condition").asText();
    Matcher quoted = Pattern.compile("\"([a-z]+)\"").matcher(condition);
    while (quoted.find()) {
      names.add(quoted.group(1));
    }
    assertEquals(List.of("staging", "production"), names, "var.environment is validated to staging and production");
  }

  @Test
  void eachEnvironmentHasItsVariablesAndAStateOfItsOwn() {
    Set<String> expected = new TreeSet<>();
    names.forEach(e -> {
      expected.add(e + ".tfvars");
      expected.add(e + ".backend.hcl");
    });
    assertEquals(expected, new TreeSet<>(files.keySet()), "terraform/environments holds exactly these");

    Map<String, String> states = new TreeMap<>();
    for (String environment : names) {
      assertEquals(environment, files.get(environment + ".tfvars").path("environment").asText(),
          environment + ".tfvars sets environment = \"" + environment + "\"");
      JsonNode backend = files.get(environment + ".backend.hcl");
      String prefix = backend.path("prefix").asText("");
      assertTrue(prefix.contains(environment), environment + ".backend.hcl: a prefix that names the environment, not \"" + prefix + "\"");
      // The bucket is the project's (<project>-relay-tfstate, given at init) unless the file names one.
      String bucket = backend.path("bucket").asText("<" + environment + " project>-relay-tfstate");
      String object = bucket + "/" + prefix + "/default.tfstate";
      String other = states.put(object, environment);
      assertTrue(other == null, environment + " and " + other + " would share the state " + object);
      // and with one bucket for both (a single project), the prefixes alone keep them apart
      String sameBucket = "one-bucket/" + prefix + "/default.tfstate";
      assertFalse(states.containsKey(sameBucket), sameBucket);
      states.put(sameBucket, environment);
    }
    // backend.tf leaves bucket and prefix to init: no shared default a forgotten -backend-config would fall back to
    JsonNode gcs = null;
    for (JsonNode block : tf.terraformBlocks()) {
      JsonNode b = TerraformConfig.at(block, "backend", "gcs");
      if (!b.isMissingNode()) {
        gcs = b;
      }
    }
    assertNotNull(gcs, "terraform/backend.tf: backend \"gcs\"");
    assertTrue(gcs.path("prefix").isMissingNode() && gcs.path("bucket").isMissingNode(), "backend \"gcs\" sets " + gcs);
  }

  @Test
  void everyNameTerraformChoosesDiffersBetweenTheEnvironmentsEvenInOneProject() {
    Map<String, Map<String, List<String>>> byEnvironment = new LinkedHashMap<>();
    List<String> unreadable = new ArrayList<>();
    for (String environment : names) {
      byEnvironment.put(environment, evaluatedNames(environment, "p", unreadable));
    }
    assertEquals(List.of(), unreadable, "names this test cannot evaluate (add them to SCOPED with the reason, or simplify them)");
    Map<String, List<String>> staging = byEnvironment.get("staging");
    Map<String, List<String>> production = byEnvironment.get("production");
    assertTrue(staging.size() >= 20, "names found: " + staging.keySet());

    Set<String> shared = new TreeSet<>();
    staging.forEach((key, values) -> values.stream().filter(production.getOrDefault(key, List.of())::contains)
        .forEach(v -> shared.add(key + " = " + v)));
    // What both environments name alike: the topics and subscriptions (the code reads their names from
    // config/topology.json), the Firestore (default) database the code opens, and the release of its
    // security rules, whose name Firestore fixes (cloud.firestore). Nothing else.
    Set<String> expected = new TreeSet<>();
    for (Block b : tf.allResources()) {
      String name = b.text("name");
      if (b.type().startsWith("google_pubsub_") && name != null && name.contains("${local.topology.")) {
        expected.add(b.address() + ".name = " + tf.resolveText(name));
      }
      if (b.type().equals("google_firestore_database") || b.type().equals("google_firebaserules_release")) {
        expected.add(b.address() + ".name = " + name);
      }
    }
    assertEquals(expected, shared, "names staging and production share in one project");
    assertTrue(shared.stream().anyMatch(s -> s.endsWith("= relay-requests")), shared.toString());
  }

  @Test
  void theSharedNamesAreWhyEachEnvironmentHasAProjectAndDeployMdSaysSo() throws IOException {
    String deploy = Files.readString(Repo.root().resolve("docs/DEPLOY.md"));
    int at = deploy.indexOf("## Two environments");
    assertTrue(at >= 0, "docs/DEPLOY.md has a section \"## Two environments\"");
    String section = deploy.substring(at, deploy.indexOf("\n## ", at + 1) < 0 ? deploy.length() : deploy.indexOf("\n## ", at + 1));
    List<String> missing = new ArrayList<>();
    for (Block b : tf.allResources()) {
      String name = b.text("name");
      if (b.type().startsWith("google_pubsub_") && name != null && name.contains("${local.topology.")
          || b.type().equals("google_firestore_database")) {
        String value = tf.resolveText(name);
        if (!section.contains("`" + value + "`")) {
          missing.add(value);
        }
      }
    }
    assertEquals(List.of(), missing, "the Two environments section names every name the environments share");
    assertTrue(section.contains("project of its own"), "and says each environment needs a project of its own");
  }

  @Test
  void everyNameFitsGooglesLimitsInEveryEnvironment() {
    List<String> problems = new ArrayList<>();
    for (String environment : names) {
      evaluatedNames(environment, LONGEST_PROJECT, new ArrayList<>()).forEach((key, values) -> {
        for (String v : values) {
          String rule = key.startsWith("google_service_account.") && key.endsWith(".account_id")
              ? "^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
              : key.startsWith("google_cloud_run_v2_service.") && key.endsWith(".name") ? "^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$"
              : key.startsWith("google_cloudfunctions2_function.") && key.endsWith(".name") ? "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
              : key.startsWith("google_storage_bucket.") && key.endsWith(".name") ? "^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$"
              : key.endsWith(".role_id") ? "^[a-zA-Z0-9_.]{3,64}$"
              : null;
          if (rule != null && !v.matches(rule)) {
            problems.add(environment + ": " + key + " = " + v + " breaks " + rule);
          }
        }
      });
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void theBuildsDeployTheEnvironmentTheirFilesSay() throws IOException {
    Map<String, String> builds = Map.of("cloudbuild.yaml", "staging", "cloudbuild-promote.yaml", "production");
    for (Map.Entry<String, String> b : builds.entrySet()) {
      JsonNode build = new ObjectMapper(new YAMLFactory()).readTree(Repo.root().resolve(b.getKey()).toFile());
      String deploy = null;
      for (JsonNode step : build.path("steps")) {
        if (step.path("id").asText().equals("deploy")) {
          deploy = step.path("args").path(1).asText();
        }
      }
      assertNotNull(deploy, b.getKey() + " has a deploy step");
      String environment = b.getValue();
      for (String expected : List.of("-backend-config=environments/" + environment + ".backend.hcl",
          "-var-file=environments/" + environment + ".tfvars", "-var=\"environment=" + environment + "\"")) {
        assertTrue(deploy.contains(expected), b.getKey() + " deploy: " + expected);
      }
      String other = names.stream().filter(n -> !n.equals(environment)).findFirst().orElseThrow();
      assertFalse(deploy.contains(other), b.getKey() + " deploys " + environment + " alone");
      // The settings file comes after the environment's, so a project's own settings win, but never the environment.
      assertTrue(deploy.indexOf("environments/" + environment + ".tfvars") < deploy.indexOf("push-relay.tfvars")
          && deploy.indexOf("push-relay.tfvars") < deploy.indexOf("-var=\"environment="), b.getKey() + ": " + deploy);
    }
  }

  /** "address.attribute" => the names it evaluates to for one environment and project. */
  private static Map<String, List<String>> evaluatedNames(String environment, String project, List<String> unreadable) {
    Map<String, List<String>> out = new TreeMap<>();
    for (Block b : tf.allResources()) {
      if (b.type().contains("_iam_")) {
        continue; // grants name what they grant on, not themselves
      }
      for (String attribute : NAME_ATTRIBUTES) {
        String expression = b.text(attribute);
        if (expression == null || REFERENCE.matcher(expression).matches()) {
          continue;
        }
        List<String> values = new ArrayList<>();
        Matcher each = EACH.matcher(expression);
        if (each.matches()) {
          Matcher local = FOR_EACH_LOCAL.matcher(String.valueOf(b.text("for_each")));
          assertTrue(local.matches(), b.address() + ": for_each " + b.text("for_each"));
          tf.locals().get(local.group(1)).forEach(entry -> values.add(entry.path(each.group(1)).asText()));
        } else {
          values.add(expression);
        }
        List<String> evaluated = new ArrayList<>();
        for (String v : values) {
          String e = evaluate(v, environment, project);
          if (e.contains("${") && !SCOPED.containsKey(b.address())) {
            unreadable.add(b.address() + "." + attribute + " = " + v);
          }
          if (!e.contains("${")) {
            evaluated.add(e);
          }
        }
        if (!evaluated.isEmpty()) {
          out.put(b.address() + "." + attribute, evaluated);
        }
      }
      String dashboard = b.text("dashboard_json");
      if (dashboard != null) {
        Matcher m = DASHBOARD_NAME.matcher(dashboard.replace("\\\"", "\""));
        assertTrue(m.find(), b.address() + ": displayName");
        out.put(b.address() + ".displayName", List.of(evaluate(m.group(1), environment, project)));
      }
    }
    return out;
  }

  private static String evaluate(String expression, String environment, String project) {
    return tf.resolveText(expression).replace("${var.environment}", environment).replace("${var.project_id}", project);
  }
}
