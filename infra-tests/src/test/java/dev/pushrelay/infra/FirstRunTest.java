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
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the first deploy into an empty project of an organization created since May 2024 would trip
 * over, when docs/DEPLOY.md is followed literally: the emulators enforce no IAM, no organization
 * policy and no quota, so each of these is read from the files the deploy runs. The rest of the list
 * is checked elsewhere: the deployer's role and API for the smoke test's identity token in
 * DeployerRolesTest, its grants failing loudly and waiting for the new account in BootstrapDeployerTest,
 * an unreadable settings file stopping the build in SettingsStepTest.
 */
class FirstRunTest {
  /** A service account of the project in DEPLOY.md's commands and settings. */
  private static final Pattern ACCOUNT = Pattern.compile("([a-z][a-z0-9-]{4,28}[a-z0-9])@\\$PROJECT_ID\\.iam\\.gserviceaccount\\.com");
  private static final Pattern CREATE = Pattern.compile("gcloud iam service-accounts create ([a-z][a-z0-9-]+)");
  private static final Pattern CODE_BLOCK = Pattern.compile("(?ms)^```[a-z]*\\n(.*?)^```");
  /**
   * When each Node.js release line stops getting fixes (github.com/nodejs/Release, schedule.json, "end").
   * Even lines are the LTS ones; odd ones live six months and are never fit for a build image.
   */
  private static final Map<Integer, LocalDate> NODE_END_OF_LIFE = Map.of(
      20, LocalDate.of(2026, 4, 30),
      22, LocalDate.of(2027, 4, 30),
      24, LocalDate.of(2028, 4, 30),
      26, LocalDate.of(2029, 4, 30));
  private static final Pattern NODE_IMAGE = Pattern.compile("(?:^|/)node:(\\d+)");
  private static final Pattern NODE_IN_PROSE = Pattern.compile("\\bNode(?:\\.js)? (\\d+)\\b");
  /**
   * The most vCPU the default variables may ask for in the region: every Cloud Run service's (the
   * functions' too) maximum instances times its vCPUs. It was 120 (50 per function) when new projects'
   * quota refused it (issue 23); docs/DEPLOY.md states the actual figure.
   */
  private static final double DEFAULT_VCPU_CEILING = 40;

  private static TerraformConfig tf;
  private static String deploy;
  private static JsonNode build;

  @BeforeAll
  static void load() throws IOException {
    tf = TerraformConfig.load();
    deploy = Files.readString(Repo.root().resolve("docs/DEPLOY.md"));
    build = new ObjectMapper(new YAMLFactory()).readTree(Repo.root().resolve("cloudbuild.yaml").toFile());
  }

  /**
   * Every service account of the project that DEPLOY.md's commands and settings name is made by a step
   * no later than the one that names it: by {@code gcloud iam service-accounts create}, by the
   * bootstrap script, or (from step 5 on) by Terraform. Terraform's grant to an account nobody made
   * fails the apply with "Service account … does not exist".
   */
  @Test
  void everyAccountDeployMdNamesIsMadeBeforeItIsUsed() throws IOException {
    Set<String> terraformAccounts = new TreeSet<>();
    tf.resources("google_service_account").forEach(a -> List.of("staging", "production").forEach(
        environment -> terraformAccounts.add(a.text("account_id").replace("${var.environment}", environment))));
    String bootstrap = Files.readString(Repo.root().resolve(DeployerRolesTest.SCRIPT));
    int applyStep = deploy.indexOf("### 5.");
    assertTrue(applyStep > 0, "docs/DEPLOY.md has a step 5 (the first build)");

    Map<String, Integer> madeInBlock = new TreeMap<>();
    Set<String> seen = new TreeSet<>();
    List<String> problems = new ArrayList<>();
    Matcher block = CODE_BLOCK.matcher(deploy);
    for (int index = 0; block.find(); index++) {
      String code = block.group(1);
      Matcher create = CREATE.matcher(code);
      while (create.find()) {
        madeInBlock.putIfAbsent(create.group(1), index);
      }
      if (Pattern.compile("(?m)^" + Pattern.quote(DeployerRolesTest.SCRIPT) + "\\b").matcher(code).find()) {
        Matcher made = CREATE.matcher(bootstrap);
        while (made.find()) {
          madeInBlock.putIfAbsent(made.group(1), index);
        }
      }
      Matcher use = ACCOUNT.matcher(code);
      while (use.find()) {
        String name = use.group(1);
        seen.add(name);
        boolean made = madeInBlock.containsKey(name)
            || terraformAccounts.contains(name) && block.start() > applyStep;
        if (!made) {
          problems.add(name + "@$PROJECT_ID… in \"" + code.lines().filter(l -> l.contains(use.group())).findFirst().orElse("")
              + "\": no step before it makes this account");
        }
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(seen.containsAll(List.of("backend", "relay-deployer")), "accounts found in docs/DEPLOY.md: " + seen);
  }

  /**
   * The socket node is public by Cloud Run's invoker check being off, not by roles/run.invoker for
   * allUsers: domain-restricted sharing, on by default in organizations created since May 2024, refuses
   * allUsers and allAuthenticatedUsers in any IAM policy.
   */
  @Test
  void theSocketNodeIsPublicWithoutAnAllUsersGrant() throws IOException {
    List<String> publicGrants = new ArrayList<>();
    for (Block b : tf.allResources()) {
      TerraformConfig.strings(b.body(), s -> {
        if (s.equals("allUsers") || s.equals("allAuthenticatedUsers")) {
          publicGrants.add(b.address() + ": " + s);
        }
      });
    }
    assertEquals(List.of(), publicGrants, "use invoker_iam_disabled on the service instead");

    List<Block> services = tf.resources("google_cloud_run_v2_service");
    assertEquals(1, services.size());
    Block node = services.get(0);
    assertEquals("${var.socket_node_public}", node.text("invoker_iam_disabled"), node.address() + ".invoker_iam_disabled");
    assertEquals("true", tf.variables().get("socket_node_public").path("default").asText(),
        "browsers connect straight to the node by default");

    JsonNode attribute = new ObjectMapper().readTree(Repo.module().resolve("schema/provider-schema.json").toFile())
        .path("resource").path("google_cloud_run_v2_service").path("attributes").path("invoker_iam_disabled");
    assertEquals("bool", attribute.path("type").asText(), "the pinned provider has invoker_iam_disabled: " + attribute);
    assertFalse(attribute.path("computedOnly").asBoolean(), "invoker_iam_disabled can be set");

    // Turning the check off takes run.services.setIamPolicy, which roles/run.developer does not hold.
    JsonNode roles = new ObjectMapper().readTree(Repo.module().resolve("deployer-roles.json").toFile())
        .path("resource").path("google_cloud_run_v2_service").path("roles");
    assertEquals("[\"roles/run.admin\"]", roles.toString(), "roles that may create the node with its invoker check off");
  }

  /** The node registers itself in Firestore before it is ready, and the functions use it from their first request. */
  @Test
  void whatUsesFirestoreWaitsForTheDatabase() {
    List<Block> databases = tf.resources("google_firestore_database");
    assertFalse(databases.isEmpty(), "terraform/ creates the Firestore database");
    List<Block> users = new ArrayList<>(tf.resources("google_cloud_run_v2_service"));
    users.addAll(tf.resources("google_cloudfunctions2_function"));
    assertEquals(3, users.size(), "the socket node and two functions: " + users);
    List<String> problems = new ArrayList<>();
    for (Block user : users) {
      String dependsOn = TerraformConfig.at(user.body(), "depends_on").toString();
      for (Block database : databases) {
        if (!dependsOn.contains(database.address() + "}") && !dependsOn.contains(database.address() + "[")) {
          problems.add(user.address() + " does not depend on " + database.address());
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  /** Every Node.js the build runs, and every one DEPLOY.md names, is an LTS line that still gets fixes. */
  @Test
  void theBuildRunsANodeJsThatIsStillSupported() {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    List<String> images = new ArrayList<>();
    build.path("substitutions").forEach(v -> images.add(v.asText()));
    build.path("steps").forEach(s -> images.add(s.path("name").asText()));
    List<String> problems = new ArrayList<>();
    Set<Integer> seen = new TreeSet<>();
    for (String image : images) {
      Matcher m = NODE_IMAGE.matcher(image);
      if (m.find()) {
        seen.add(Integer.parseInt(m.group(1)));
        problems.addAll(supported("cloudbuild.yaml: " + image, Integer.parseInt(m.group(1)), today));
      }
    }
    assertFalse(seen.isEmpty(), "cloudbuild.yaml runs a node:<version> image");
    Matcher prose = NODE_IN_PROSE.matcher(deploy);
    while (prose.find()) {
      problems.addAll(supported("docs/DEPLOY.md: " + prose.group(), Integer.parseInt(prose.group(1)), today));
    }
    assertEquals(List.of(), problems);
  }

  private static List<String> supported(String where, int major, LocalDate today) {
    LocalDate end = NODE_END_OF_LIFE.get(major);
    if (major % 2 != 0) {
      return List.of(where + ": Node.js " + major + " is not an LTS line");
    }
    if (end == null) {
      return List.of(where + ": add Node.js " + major + "'s end of life to FirstRunTest.NODE_END_OF_LIFE");
    }
    return end.isAfter(today) ? List.of() : List.of(where + ": Node.js " + major + " reached its end of life on " + end);
  }

  /**
   * Cloud Run holds each service's maximum instances times its vCPUs against the project's regional
   * quota, which starts small in a new project: the defaults stay within a small ceiling, and
   * DEPLOY.md says what they ask for.
   */
  @Test
  void theDefaultsFitASmallRegionalCpuQuotaAndDeployMdSaysWhatTheyAskFor() {
    Map<String, Double> ceiling = new TreeMap<>();
    for (Block run : tf.resources("google_cloud_run_v2_service")) {
      JsonNode limits = TerraformConfig.at(run.get("template", "containers"), "resources", "limits");
      ceiling.put(run.address(), defaultNumber(run.text("template", "scaling", "max_instance_count"))
          * vcpu(defaultText(limits.path("cpu").asText(null))));
    }
    for (Block f : tf.resources("google_cloudfunctions2_function")) {
      ceiling.put(f.address(), defaultNumber(f.text("service_config", "max_instance_count"))
          * vcpu(defaultText(f.text("service_config", "available_cpu"))));
    }
    assertEquals(3, ceiling.size(), ceiling.toString());
    double total = ceiling.values().stream().mapToDouble(Double::doubleValue).sum();
    assertTrue(total <= DEFAULT_VCPU_CEILING, "the defaults ask for " + total + " vCPU in the region (" + ceiling
        + "), more than the " + DEFAULT_VCPU_CEILING + " a new project's quota is trusted with");
    String figure = "at most " + (total == Math.rint(total) ? String.valueOf((long) total) : String.valueOf(total)) + " vCPU";
    assertTrue(deploy.contains(figure), "docs/DEPLOY.md says the defaults ask for \"" + figure + "\" (" + ceiling + ")");
    assertTrue(deploy.contains("`function_max_instances`") && deploy.contains("quota"),
        "docs/DEPLOY.md tells what to raise, and that the quota must allow it");
  }

  /** The default of the variable an expression is, else the expression itself. */
  private static String defaultText(String expression) {
    assertNotNull(expression);
    Matcher var = Pattern.compile("^\\$\\{var\\.([A-Za-z0-9_]+)}$").matcher(expression);
    if (!var.matches()) {
      return expression;
    }
    JsonNode variable = tf.variables().get(var.group(1));
    assertNotNull(variable, "undeclared var." + var.group(1));
    assertFalse(variable.path("default").isMissingNode(), "var." + var.group(1) + " has no default");
    return variable.path("default").asText();
  }

  private static double defaultNumber(String expression) {
    return Double.parseDouble(defaultText(expression));
  }

  /** "1", "2", "0.5" or millicores such as "1000m". */
  private static double vcpu(String cpu) {
    return cpu.endsWith("m") ? Double.parseDouble(cpu.substring(0, cpu.length() - 1)) / 1000 : Double.parseDouble(cpu);
  }
}
