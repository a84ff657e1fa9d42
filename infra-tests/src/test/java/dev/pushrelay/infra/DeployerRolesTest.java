package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deployer's roles, as scripts/deploy/bootstrap-deployer.sh grants them, against
 * infra-tests/deployer-roles.json: the role that may create each resource type terraform/ uses, and
 * what the build itself does with the deployer's identity, on the project and on the deployer account
 * itself. A type without a role the deployer holds fails the first apply halfway; a granted role that
 * nothing needs is more than least privilege allows. BootstrapDeployerTest runs the script.
 */
class DeployerRolesTest {
  static final String SCRIPT = "scripts/deploy/bootstrap-deployer.sh";
  private static final Pattern ROLE_ARRAY = Pattern.compile("(?ms)^roles=\\((.*?)^\\)");
  private static final Pattern ROLE = Pattern.compile("roles/[A-Za-z.]+");
  /** A table row of docs/DEPLOY.md that starts with a role. */
  private static final Pattern ROLE_ROW = Pattern.compile("(?m)^\\| `(roles/[A-Za-z.]+)` \\|");

  private static JsonNode table;
  private static Set<String> granted;

  @BeforeAll
  static void load() throws IOException {
    table = new ObjectMapper().readTree(Repo.module().resolve("deployer-roles.json").toFile());
    granted = scriptRoles();
  }

  /** The project roles the bootstrap script grants: its one {@code roles=( … )} array. */
  static Set<String> scriptRoles() throws IOException {
    String script = Files.readString(Repo.root().resolve(SCRIPT));
    Matcher array = ROLE_ARRAY.matcher(script);
    assertTrue(array.find(), SCRIPT + " lists the deployer's project roles in one roles=( … ) array");
    Set<String> roles = new TreeSet<>();
    Matcher role = ROLE.matcher(array.group(1));
    while (role.find()) {
      roles.add(role.group());
    }
    assertFalse(array.find(), "one role list in " + SCRIPT + ", so there is one list to keep right");
    return roles;
  }

  /** What deployer-roles.json says the deployer needs on its own account. */
  static List<JsonNode> onItself() throws IOException {
    List<JsonNode> out = new ArrayList<>();
    new ObjectMapper().readTree(Repo.module().resolve("deployer-roles.json").toFile()).path("onItself").forEach(out::add);
    return out;
  }

  @Test
  void everyTypeInTerraformHasARoleInTheTable() {
    TerraformConfig tf = TerraformConfig.load();
    List<String> problems = new ArrayList<>();
    for (String kind : List.of("resource", "data")) {
      Set<String> used = new TreeSet<>();
      tf.files().values().forEach(tree -> tree.path(kind).fieldNames().forEachRemaining(used::add));
      for (String type : used) {
        JsonNode entry = table.path(kind).path(type);
        if (entry.isMissingNode()) {
          problems.add(kind + " " + type + " is not in infra-tests/deployer-roles.json: which role may create it?");
        } else if (entry.path("why").asText().isBlank()) {
          problems.add(kind + " " + type + ": say why its roles are needed");
        }
      }
      table.path(kind).fieldNames().forEachRemaining(type -> {
        if (!used.contains(type)) {
          problems.add(kind + " " + type + " is in the table but terraform/ does not use it");
        }
      });
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void theDeployerHoldsARoleForEveryTypeAndForWhatTheBuildDoes() {
    List<String> problems = new ArrayList<>();
    for (String kind : List.of("resource", "data")) {
      table.path(kind).fields().forEachRemaining(e -> {
        Set<String> roles = new TreeSet<>();
        e.getValue().path("roles").forEach(r -> roles.add(r.asText()));
        if (!roles.isEmpty() && roles.stream().noneMatch(granted::contains)) {
          problems.add(kind + " " + e.getKey() + " needs one of " + roles + "; " + SCRIPT + " grants none of them");
        }
      });
    }
    for (JsonNode also : table.path("alsoNeeded")) {
      if (!granted.contains(also.path("role").asText())) {
        problems.add(also.path("role").asText() + " (" + also.path("why").asText() + ") is not granted by " + SCRIPT);
      }
    }
    assertEquals(List.of(), problems, SCRIPT + " grants " + granted);
  }

  @Test
  void everyRoleDeployMdGrantsIsNeededForSomething() {
    Set<String> needed = new TreeSet<>();
    for (String kind : List.of("resource", "data")) {
      table.path(kind).forEach(entry -> entry.path("roles").forEach(r -> needed.add(r.asText())));
    }
    table.path("alsoNeeded").forEach(a -> needed.add(a.path("role").asText()));
    Set<String> unexplained = new TreeSet<>(granted);
    unexplained.removeAll(needed);
    assertEquals(Set.of(), unexplained, "roles " + SCRIPT + " grants that infra-tests/deployer-roles.json does not explain");
    assertFalse(granted.stream().anyMatch(r -> Set.of("roles/owner", "roles/editor").contains(r)), "no basic roles");
  }

  /**
   * The smoke-credentials step mints an identity token as the deployer: that takes
   * iam.serviceAccounts.getOpenIdToken on the deployer's own account and the API the token comes from.
   * Without either the build fails after a good apply.
   */
  @Test
  void whatTheBuildDoesAsTheDeployerItselfHasItsRoleAndItsApi() throws IOException {
    String build = Files.readString(Repo.root().resolve("cloudbuild.yaml"));
    String script = Files.readString(Repo.root().resolve(SCRIPT));
    JsonNode requiredApis = TerraformConfig.load().locals().get("required_apis");
    assertTrue(requiredApis != null, "terraform/apis.tf: local.required_apis");
    String apis = requiredApis.asText().replaceAll("(?m)^\\s*#.*$", "");
    List<JsonNode> entries = onItself();
    assertFalse(entries.isEmpty(), "deployer-roles.json: onItself");
    List<String> problems = new ArrayList<>();
    for (JsonNode entry : entries) {
      String role = entry.path("role").asText();
      String command = entry.path("command").asText();
      String api = entry.path("api").asText();
      if (command.isBlank() || !build.contains(command)) {
        problems.add(role + ": the build does not run \"" + command + "\"; is the role still needed?");
      }
      if (entry.path("why").asText().isBlank()) {
        problems.add(role + ": say why");
      }
      // BootstrapDeployerTest runs the script and sees the grant made; this finds the line that makes it.
      String grant = "--member=\"serviceAccount:$deployer\" --role=" + role + " ";
      if (!script.contains("gcloud iam service-accounts add-iam-policy-binding \"$deployer\"") || !script.contains(grant)) {
        problems.add(role + " is not granted on the deployer account itself by " + SCRIPT);
      }
      if (!api.isBlank() && !apis.contains("\"" + api + "\"")) {
        problems.add(role + ": " + api + " is not in terraform/apis.tf's required_apis");
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(entries.stream().anyMatch(e -> e.path("role").asText().equals("roles/iam.serviceAccountOpenIdTokenCreator")
        && e.path("api").asText().equals("iamcredentials.googleapis.com")
        && e.path("command").asText().equals("gcloud auth print-identity-token")), "the smoke test's identity token: " + entries);
  }

  /** docs/DEPLOY.md runs the script and its tables list exactly what the script grants. */
  @Test
  void deployMdRunsTheScriptAndListsExactlyItsRoles() throws IOException {
    String deploy = Files.readString(Repo.root().resolve("docs/DEPLOY.md"));
    int start = deploy.indexOf("### 3. The deployer");
    int end = deploy.indexOf("### 4.", start);
    assertTrue(start >= 0 && end > start, "docs/DEPLOY.md has a step 3 for the deployer");
    String step = deploy.substring(start, end);
    assertTrue(Pattern.compile("(?m)^" + Pattern.quote(SCRIPT) + "$").matcher(step).find(),
        "step 3 runs " + SCRIPT + " on a line of its own");
    assertFalse(deploy.contains("for role in"), "no second list of the deployer's roles in docs/DEPLOY.md");
    Set<String> listed = new TreeSet<>();
    Matcher row = ROLE_ROW.matcher(step);
    while (row.find()) {
      listed.add(row.group(1));
    }
    Set<String> expected = new TreeSet<>(granted);
    onItself().forEach(e -> expected.add(e.path("role").asText()));
    assertEquals(expected, listed, "the roles in docs/DEPLOY.md's step 3 tables against " + SCRIPT);
  }
}
