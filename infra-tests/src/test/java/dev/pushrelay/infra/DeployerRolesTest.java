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
 * The deployer's roles, as docs/DEPLOY.md grants them, against infra-tests/deployer-roles.json: the
 * role that may create each resource type terraform/ uses, and what the build itself does with the
 * deployer's identity. A type without a role the deployer holds fails the first apply halfway; a
 * role in DEPLOY.md that nothing needs is more than least privilege allows.
 */
class DeployerRolesTest {
  private static final Pattern ROLE_LOOP = Pattern.compile("(?s)for role in (.*?); do");
  private static final Pattern ROLE = Pattern.compile("roles/[A-Za-z.]+");

  private static JsonNode table;
  private static Set<String> granted;

  @BeforeAll
  static void load() throws IOException {
    table = new ObjectMapper().readTree(Repo.module().resolve("deployer-roles.json").toFile());
    String deploy = Files.readString(Repo.root().resolve("docs/DEPLOY.md"));
    Matcher loop = ROLE_LOOP.matcher(deploy);
    assertTrue(loop.find(), "docs/DEPLOY.md grants the deployer's roles in a `for role in …; do` loop");
    granted = new TreeSet<>();
    Matcher role = ROLE.matcher(loop.group(1));
    while (role.find()) {
      granted.add(role.group());
    }
    assertFalse(loop.find(), "one role loop in docs/DEPLOY.md, so there is one list to keep right");
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
          problems.add(kind + " " + e.getKey() + " needs one of " + roles + "; docs/DEPLOY.md grants none of them");
        }
      });
    }
    for (JsonNode also : table.path("alsoNeeded")) {
      if (!granted.contains(also.path("role").asText())) {
        problems.add(also.path("role").asText() + " (" + also.path("why").asText() + ") is not granted in docs/DEPLOY.md");
      }
    }
    assertEquals(List.of(), problems, "docs/DEPLOY.md grants " + granted);
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
    assertEquals(Set.of(), unexplained, "roles docs/DEPLOY.md grants that infra-tests/deployer-roles.json does not explain");
    assertFalse(granted.stream().anyMatch(r -> Set.of("roles/owner", "roles/editor").contains(r)), "no basic roles");
  }
}
