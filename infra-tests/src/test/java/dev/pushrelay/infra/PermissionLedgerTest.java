package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pushrelay.infra.TerraformConfig.Block;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
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
 * The permission ledger. The emulators check no IAM, so a call that the cloud would refuse passes
 * every other test. Here every Google API call each deployable made in the end-to-end suite (written by
 * its CallLedger into e2e/target/call-ledger) is mapped to the IAM permissions it needs
 * (iam/methods.json, each row with its source), and each must be granted by terraform/ to that
 * deployable's account, on the project or on the very topic or subscription (iam/roles.json says what a
 * predefined role holds). The other way round, every grant of those services must be needed by some
 * call: a grant nothing uses is a grant too many.
 */
class PermissionLedgerTest {
  /** Each deployable that writes a ledger, and the Terraform service account it runs as. */
  private static final Map<String, String> ACCOUNTS = Map.of(
      "socket-node", "socket_node", "send-function", "send_function", "route-function", "route_function");
  /** The services whose permissions the ledger judges; grants of any other (secrets, logs) are not calls. */
  private static final Set<String> SERVICES = Set.of("pubsub", "datastore", "monitoring", "cloudtrace");
  private static final Pattern ACCOUNT_REF =
      Pattern.compile("^\\$\\{google_service_account\\.([a-z_]+)\\.member}$");
  private static final Pattern RESOURCE_REF =
      Pattern.compile("^\\$\\{(google_pubsub_topic|google_pubsub_subscription)\\.([a-z_]+)(?:\\[0])?\\.name}$");
  private static final Pattern CUSTOM_ROLE_REF =
      Pattern.compile("^\\$\\{google_project_iam_custom_role\\.([a-z_]+)\\.id}$");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DATABASE = Pattern.compile("databases/([^/\"]+)");

  /** One distinct call: which deployable, which method, the kind of write, the resources it named. */
  record Call(String deployable, String method, String write, Map<String, String> resources) {}

  /** A permission a call needs, on the project or on one named topic or subscription. */
  record Need(String account, String permission, String scope, String resource, Call call) {
    @Override
    public String toString() {
      return account + " needs " + permission + " on " + (resource == null ? "the project" : scope + " " + resource)
          + " for " + call.method() + (call.write().isEmpty() ? "" : " (" + call.write() + ")");
    }
  }

  /**
   * What one Terraform grant gives an account: permissions, on the project or on one topic or
   * subscription; {@code database}: the one Firestore database its IAM condition keeps it to (null: none).
   */
  record Grant(String address, String account, String scope, String resource, Set<String> permissions,
      String database) {
    boolean covers(Need need) {
      if (!account.equals(need.account()) || !permissions.contains(need.permission())) {
        return false;
      }
      if (database != null) {
        return need.scope().equals("database") && database.equals(need.resource());
      }
      return scope.equals("project") || scope.equals(need.scope()) && resource.equals(need.resource());
    }

    Grant with(Set<String> others) {
      return new Grant(address, account, scope, resource, others, database);
    }
  }

  private static TerraformConfig tf;
  private static List<Call> calls;
  private static JsonNode methods;
  private static JsonNode roles;

  @BeforeAll
  static void load() throws IOException {
    tf = TerraformConfig.load();
    methods = JSON.readTree(Repo.module().resolve("iam/methods.json").toFile()).get("methods");
    roles = JSON.readTree(Repo.module().resolve("iam/roles.json").toFile()).get("roles");
    calls = recordedCalls(Path.of(System.getProperty("call.ledger",
        Repo.root().resolve("e2e/target/call-ledger").toString())));
  }

  @Test
  void everyDeployableWroteItsCalls() {
    Set<String> seen = new TreeSet<>();
    calls.forEach(c -> seen.add(c.deployable()));
    assertEquals(new TreeSet<>(ACCOUNTS.keySet()), seen,
        "each deployable's calls come from the end-to-end suite (run mvn verify from the root)");
  }

  @Test
  void everyCallTheSuiteMadeIsGrantedByTerraform() {
    List<String> missing = ungranted(grants(tf)).stream().map(Need::toString).distinct().toList();
    assertEquals(List.of(), missing, "grant these in terraform/iam.tf (least: on the resource, not the project)");
  }

  @Test
  void everyGrantOfTheRelaysServicesIsNeededBySomeCall() {
    List<Grant> all = grants(tf);
    List<String> unneeded = new ArrayList<>();
    for (Grant g : all) {
      if (ungranted(all.stream().filter(other -> other != g).toList()).isEmpty()) {
        unneeded.add(g.address() + " (" + g.account() + ")");
      }
    }
    assertEquals(List.of(), unneeded,
        "no call of the e2e suite (a full run) needs these grants: remove them, or say why they stay");
  }

  @Test
  void theSendFunctionWithTheReadOnlyRoleItOnceHadIsRefused() {
    List<Grant> readOnly = grants(tf).stream()
        .map(g -> g.address().equals("google_project_iam_member.send_datastore_user")
            ? g.with(permissions("roles/datastore.viewer"))
            : g)
        .toList();
    List<String> missing = ungranted(readOnly).stream().map(Need::permission).distinct().toList();
    assertTrue(missing.contains("datastore.entities.create"), "the direct route parks before its 202: " + missing);
  }

  @Test
  void theFirestoreGrantsAreKeptToTheRelaysDatabaseAndOnlyItsDatabaseWillDo() {
    List<Grant> firestore = grants(tf).stream().filter(g -> g.permissions().contains("datastore.entities.get"))
        .toList();
    assertEquals(3, firestore.size(), firestore.toString());
    firestore.forEach(g -> assertEquals("(default)", g.database(), g.address() + " has an IAM condition on it"));
    List<Grant> elsewhere = grants(tf).stream()
        .map(g -> g.database() == null ? g
            : new Grant(g.address(), g.account(), g.scope(), g.resource(), g.permissions(), "app-db"))
        .toList();
    assertTrue(ungranted(elsewhere).stream().anyMatch(n -> n.permission().equals("datastore.entities.get")),
        "a grant kept to another database covers none of the relay's reads");
  }

  @Test
  void everyMethodRowHasItsSourceAndOnlyKnownScopes() {
    Set<String> scopes = Set.of("project", "topic", "subscription", "database");
    for (JsonNode row : methods) {
      assertTrue(row.path("source").asText().startsWith("https://cloud.google.com/"), row::toString);
      row.get("permissions").fields().forEachRemaining(e ->
          assertTrue(scopes.contains(e.getValue().asText()), row::toString));
    }
    roles.fields().forEachRemaining(e ->
        assertTrue(e.getValue().path("source").asText().startsWith("https://cloud.google.com/iam/docs/"), e::toString));
  }

  // --- the calls -----------------------------------------------------------------------------------

  static List<Call> recordedCalls(Path dir) throws IOException {
    assertTrue(Files.isDirectory(dir), "no call ledger at " + dir
        + ": the end-to-end suite writes it, so run mvn verify from the repository's root");
    Set<Call> all = new LinkedHashSet<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
        String deployable = f.getFileName().toString().replaceFirst("-\\d+\\.jsonl$", "");
        for (String line : Files.readAllLines(f)) {
          JsonNode n = JSON.readTree(line);
          Map<String, String> resources = new TreeMap<>();
          n.path("resources").fields().forEachRemaining(e -> resources.put(e.getKey(), e.getValue().asText()));
          all.add(new Call(deployable, n.get("method").asText(), n.path("write").asText(""), resources));
        }
      }
    }
    assertFalse(all.isEmpty(), "the call ledger at " + dir + " is empty");
    return List.copyOf(all);
  }

  /** Every permission a call needs that no grant in {@code grants} covers. */
  static List<Need> ungranted(List<Grant> grants) {
    List<Need> missing = new ArrayList<>();
    for (Call call : calls) {
      for (Need need : needs(call)) {
        if (grants.stream().noneMatch(g -> g.covers(need))) {
          missing.add(need);
        }
      }
    }
    return missing;
  }

  static List<Need> needs(Call call) {
    String account = ACCOUNTS.get(call.deployable());
    JsonNode row = null;
    for (JsonNode r : methods) {
      if (r.get("method").asText().equals(call.method())
          && (!r.has("write") || r.get("write").asText().equals(call.write()))) {
        row = r;
      }
    }
    assertTrue(row != null, "iam/methods.json has no row for " + call.method()
        + (call.write().isEmpty() ? "" : " (" + call.write() + ")") + ": add one with its source");
    List<Need> needs = new ArrayList<>();
    row.get("permissions").fields().forEachRemaining(e -> {
      String scope = e.getValue().asText();
      String resource = switch (scope) {
        case "topic", "subscription" -> lastSegment(call.resources().get(scope), call);
        case "database" -> database(call);
        default -> null;
      };
      needs.add(new Need(account, e.getKey(), resource == null ? "project" : scope, resource, call));
    });
    return needs;
  }

  /** The id of the Firestore database a call names, as "(default)". */
  private static String database(Call call) {
    for (String name : call.resources().values()) {
      Matcher m = DATABASE.matcher(name);
      if (m.find()) {
        return m.group(1);
      }
    }
    // the listen stream is recorded without its requests: the client's one database
    return "(default)";
  }

  private static String lastSegment(String name, Call call) {
    assertTrue(name != null, call + " names no such resource");
    return name.substring(name.lastIndexOf('/') + 1);
  }

  // --- the grants ----------------------------------------------------------------------------------

  /** The grants of the relay's services to the deployables' accounts in terraform/. */
  static List<Grant> grants(TerraformConfig config) {
    List<Grant> grants = new ArrayList<>();
    for (Block b : config.resources("google_project_iam_member")) {
      add(grants, b, "project", null);
    }
    for (String type : List.of("google_pubsub_topic_iam_member", "google_pubsub_subscription_iam_member")) {
      String scope = type.contains("topic") ? "topic" : "subscription";
      for (Block b : config.resources(type)) {
        Matcher m = RESOURCE_REF.matcher(b.text(scope));
        assertTrue(m.matches(), b.address() + ": " + scope + " is not a managed resource's name");
        String name = config.resolveText(config.resource(m.group(1), m.group(2)).orElseThrow().text("name"));
        add(grants, b, scope, name);
      }
    }
    return grants;
  }

  private static void add(List<Grant> grants, Block b, String scope, String resource) {
    for (Map.Entry<String, String> member : members(b).entrySet()) {
      Matcher account = ACCOUNT_REF.matcher(member.getValue());
      if (!account.matches() || !ACCOUNTS.containsValue(account.group(1))) {
        continue; // an account that runs no relay code (the build, the push identities, Pub/Sub's agent)
      }
      Set<String> permissions = new TreeSet<>();
      for (String role : roles(b)) {
        permissions.addAll(permissions(role));
      }
      permissions.removeIf(p -> !SERVICES.contains(p.substring(0, p.indexOf('.'))));
      if (!permissions.isEmpty()) {
        String key = member.getKey().isEmpty() ? "" : "[\"" + member.getKey() + "\"]";
        grants.add(new Grant(b.address() + key, account.group(1), scope, resource, permissions,
            conditionDatabase(b)));
      }
    }
  }

  /**
   * The database a grant's IAM condition keeps it to ({@code resource.name == "projects/…/databases/D"});
   * null without a condition. Any other condition is not understood here, and fails the test.
   */
  private static String conditionDatabase(Block b) {
    String expression = b.text("condition", "expression");
    if (expression == null) {
      return null;
    }
    Matcher m = Pattern.compile("^resource\\.name == \"projects/[^/\"]+/databases/([^/\"]+)\"$")
        .matcher(tf.resolveText(expression));
    assertTrue(m.matches(), b.address() + ": a condition the ledger cannot read: " + tf.resolveText(expression));
    return m.group(1);
  }

  /**
   * The block's member, or each member of its {@code for_each} map (written out, or a local), by key ("" for
   * a single one).
   */
  private static Map<String, String> members(Block b) {
    Map<String, String> members = new TreeMap<>();
    String member = b.text("member");
    JsonNode forEach = b.get("for_each");
    Matcher local = Pattern.compile("^\\$\\{local\\.([a-z_]+)}$").matcher(forEach.asText());
    if (local.matches()) {
      forEach = tf.locals().get(local.group(1));
    }
    if (member.equals("${each.value}") && forEach != null && forEach.isObject()) {
      forEach.fields().forEachRemaining(e -> members.put(e.getKey(), e.getValue().asText()));
    } else {
      members.put("", member);
    }
    return members;
  }

  private static List<String> roles(Block b) {
    String role = b.text("role");
    Matcher custom = CUSTOM_ROLE_REF.matcher(role);
    if (custom.matches()) {
      return List.of("custom:" + custom.group(1));
    }
    return List.of(role);
  }

  /** A role's permissions: a custom role's from terraform/, a predefined one's from iam/roles.json. */
  static Set<String> permissions(String role) {
    Set<String> permissions = new TreeSet<>();
    if (role.startsWith("custom:")) {
      Block custom = tf.resource("google_project_iam_custom_role", role.substring("custom:".length())).orElseThrow();
      custom.get("permissions").forEach(p -> permissions.add(p.asText()));
      return permissions;
    }
    JsonNode known = roles.get(role);
    if (known == null) {
      if (SERVICES.stream().anyMatch(s -> role.startsWith("roles/" + s + "."))) {
        throw new AssertionError(role + " is granted to a deployable but not in iam/roles.json:"
            + " add it with its source");
      }
      return permissions;
    }
    known.get("permissions").forEach(p -> permissions.add(p.asText()));
    return permissions;
  }
}
