package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.infra.TerraformConfig.Block;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * Invariants of terraform/ that must hold whatever else changes: the shared topology is the only
 * source of names and retry settings, Pub/Sub can dead-letter, pushes are authenticated, nothing
 * that runs code is public or shares an identity, and the per-node delivery topics (made by the
 * nodes at run time, so granted on the project: Pub/Sub has no IAM Conditions on resource names)
 * are not managed by Terraform.
 */
class TerraformInvariantsTest {
  private static final Set<String> PUBLIC = Set.of("allUsers", "allAuthenticatedUsers");
  private static final Pattern SERVICE_ACCOUNT_REF =
      Pattern.compile("^\\$\\{google_service_account\\.([A-Za-z0-9_-]+)(?:\\[0])?\\.(email|id|name|member)}$");
  /** The Pub/Sub service agent, read through the wait that follows its creation (iam.tf). */
  private static final Pattern PUBSUB_AGENT = Pattern.compile("^\\$\\{time_sleep\\.([A-Za-z0-9_]+)\\.triggers\\[\"member\"]}$");

  private static TerraformConfig tf;
  private static JsonNode topology;

  @BeforeAll
  static void parse() {
    tf = TerraformConfig.load();
    topology = tf.topology();
  }

  /** dead-letters.sh purge acknowledges: a hold that kept acknowledged messages would keep them for a seek. */
  @Test
  void aPurgedDeadLetterIsGone() {
    Block hold = tf.resource("google_pubsub_subscription", "dead_letter_hold").orElseThrow();
    assertEquals("false", hold.text("retain_acked_messages"), hold.address());
  }

  @Test
  void topologyIsReadFromTheSharedFile() {
    JsonNode local = tf.locals().get("topology");
    assertNotNull(local, "terraform/ must define local.topology");
    assertEquals("${jsondecode(file(\"${path.module}/../config/topology.json\"))}",
        local.asText().replaceAll("\\s+", ""));
  }

  @Test
  void noTopologyNameIsWrittenOutInTerraform() {
    List<String> names = new ArrayList<>();
    topology.fields().forEachRemaining(e -> {
      if (e.getValue().isTextual()) {
        names.add(e.getValue().asText());
      }
    });
    assertFalse(names.isEmpty());
    List<String> offenders = new ArrayList<>();
    tf.files().forEach((file, tree) -> TerraformConfig.strings(tree, s -> {
      for (String name : names) {
        if (s.contains(name)) {
          offenders.add(file + ": \"" + s + "\" contains " + name);
        }
      }
    }));
    assertEquals(List.of(), offenders, "use local.topology.<key> instead of the literal value");
  }

  @Test
  void topicsAndSubscriptionsTakeTheirNamesFromTheTopology() {
    assertAll(
        () -> topicNamed("requestsTopic"),
        () -> topicNamed("deadLetterTopic"),
        () -> subscriptionNamed("routerSubscription"),
        () -> subscriptionNamed("deadLetterHoldSubscription"));
  }

  @Test
  void deliveryTopicsAndSubscriptionsAreTheNodesOwnNotTerraforms() {
    String topicPrefix = topology.path("deliveriesTopicPrefix").asText();
    String subscriptionPrefix = topology.path("deliveriesSubscriptionPrefix").asText();
    assertAll(
        () -> assertTrue(topology.path("deliveriesTopic").isMissingNode(),
            "there is no shared deliveries topic: config/topology.json has deliveriesTopicPrefix instead"),
        () -> assertFalse(topicPrefix.isBlank(), "config/topology.json: deliveriesTopicPrefix"),
        () -> assertFalse(subscriptionPrefix.isBlank(), "config/topology.json: deliveriesSubscriptionPrefix"),
        // Pub/Sub names start with a letter, never with "goog", and leave room for the node id.
        () -> assertTrue(topicPrefix.matches("(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{0,199}"), "topic prefix " + topicPrefix),
        () -> assertTrue(subscriptionPrefix.matches("(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{0,199}"),
            "subscription prefix " + subscriptionPrefix));
    // Terraform manages exactly the requests topics (normal and high priority), the dead-letter topic and
    // the upstream topics; every node makes its own delivery topic and subscription at run time and
    // deletes them when it goes.
    Set<String> topics = new TreeSet<>();
    List<String> problems = new ArrayList<>();
    for (Block topic : tf.resources("google_pubsub_topic")) {
      String name = topic.text("name");
      topics.add(name);
      if (name == null || name.contains("deliveries") || tf.resolveText(name).startsWith(topicPrefix)) {
        problems.add(topic.address() + " looks like a shared deliveries topic: " + name);
      }
    }
    for (Block subscription : tf.resources("google_pubsub_subscription")) {
      String name = subscription.text("name");
      if (name == null || name.contains("deliveries") || tf.resolveText(name).startsWith(subscriptionPrefix)) {
        problems.add(subscription.address() + " looks like a node's delivery subscription: " + name);
      }
    }
    assertEquals(List.of(), problems);
    assertEquals(new TreeSet<>(List.of("${local.topology.requestsTopic}", "${local.topology.highPriority.requestsTopic}",
        "${local.topology.deadLetterTopic}", "${local.topology.upstreamTopic}",
        "${local.topology.upstreamTopic}-dead-letter")), topics);
    assertTrue(tf.resource("google_pubsub_topic", "deliveries").isEmpty(), "google_pubsub_topic.deliveries is gone");
  }

  @Test
  void socketNodeMayManageItsOwnDeliveryTopicAndSubscriptionOnTheProject() {
    Block node = tf.resources("google_cloud_run_v2_service").get(0);
    String account = serviceAccountOf(node.text("template", "service_account"));
    List<Block> customRoleGrants = new ArrayList<>();
    for (Block grant : tf.resources("google_project_iam_member")) {
      if (grantsTo(grant, account) && String.valueOf(grant.text("role")).startsWith("${google_project_iam_custom_role.")) {
        customRoleGrants.add(grant);
      }
    }
    assertEquals(1, customRoleGrants.size(), "one custom role on the project for the socket node: " + customRoleGrants);
    Block grant = customRoleGrants.get(0);
    Matcher roleRef = Pattern.compile("^\\$\\{google_project_iam_custom_role\\.([A-Za-z0-9_-]+)\\.(id|name)}$")
        .matcher(grant.text("role"));
    assertTrue(roleRef.matches(), grant.address() + " role: " + grant.text("role"));
    Block role = tf.resource("google_project_iam_custom_role", roleRef.group(1))
        .orElseGet(() -> fail("missing google_project_iam_custom_role." + roleRef.group(1)));
    Set<String> permissions = new TreeSet<>();
    role.get("permissions").forEach(p -> permissions.add(p.asText()));
    assertAll(
        () -> assertEquals("${var.project_id}", grant.text("project"), grant.address() + " is granted on the project"),
        () -> assertEquals(new TreeSet<>(List.of(
            "pubsub.topics.create", "pubsub.topics.delete", "pubsub.topics.get", "pubsub.topics.attachSubscription",
            "pubsub.topics.publish", "pubsub.subscriptions.create", "pubsub.subscriptions.delete",
            "pubsub.subscriptions.get", "pubsub.subscriptions.list", "pubsub.subscriptions.consume")), permissions,
            role.address() + ": the node's own delivery topic and subscription, and publishing (live nodes' topics,"
                + " requests, upstream), nothing more"),
        () -> assertTrue(TerraformConfig.at(node.body(), "depends_on").toString().contains(grant.address()),
            node.address() + " starts only once " + grant.address() + " is in place (a node creates its topic at start)"));
    // The role is all the node has on Pub/Sub: PermissionLedgerTest holds each grant to a call that needs it.
    List<String> others = new ArrayList<>();
    for (Block iam : iamResources()) {
      if (iam.address().equals(grant.address()) || !grantsTo(iam, account) || !iam.type().startsWith("google_pubsub_")
          && !String.valueOf(iam.text("role")).startsWith("roles/pubsub.")) {
        continue;
      }
      others.add(iam.address() + " grants " + iam.text("role"));
    }
    assertEquals(List.of(), others, "the socket node's Pub/Sub rights are its custom role's");
  }

  @Test
  void functionsMayPublishToTheNodesDeliveryTopicsOnTheProject() {
    Set<String> functionAccounts = new TreeSet<>();
    for (String entryPoint : List.of("dev.pushrelay.functions.send.SendFunction",
        "dev.pushrelay.functions.route.RouteFunction")) {
      Block f = function(entryPoint);
      String account = serviceAccountOf(f.text("service_config", "service_account_email"));
      functionAccounts.add(account);
      List<Block> publisher = tf.resources("google_project_iam_member").stream()
          .filter(g -> grantsTo(g, account) && "roles/pubsub.publisher".equals(g.text("role")))
          .toList();
      // it covers the relay's own topics too: PermissionLedgerTest refuses a topic-level grant beside it
      assertEquals(1, publisher.size(), f.address() + ": roles/pubsub.publisher on the project (the delivery topics"
          + " exist only at run time), found " + publisher);
      assertAll(
          () -> assertEquals("${var.project_id}", publisher.get(0).text("project")),
          () -> assertTrue(TerraformConfig.at(f.body(), "depends_on").toString().contains(publisher.get(0).address()),
              f.address() + " is deployed only once " + publisher.get(0).address() + " is in place"));
    }
    // Nobody else publishes project-wide, and no Pub/Sub role but publisher is granted project-wide.
    List<String> problems = new ArrayList<>();
    for (Block g : tf.resources("google_project_iam_member")) {
      String role = String.valueOf(g.text("role"));
      String forEach = String.valueOf(g.text("for_each"));
      if (forEach.contains("roles/pubsub.") || role.startsWith("roles/pubsub.") && !role.equals("roles/pubsub.publisher")) {
        problems.add(g.address() + " grants " + role + " on the project");
      }
      if (role.equals("roles/pubsub.publisher") && functionAccounts.stream().noneMatch(a -> grantsTo(g, a))) {
        problems.add(g.address() + " grants roles/pubsub.publisher on the project to " + members(g));
      }
    }
    assertEquals(List.of(), problems);
  }

  /** The high priority retry path: its own topic and subscription, its topology settings, the same push and dead letter. */
  @Test
  void highPriorityRequestsHaveARetrySubscriptionOfTheirOwn() {
    Block router = subscriptionNamedAt("highPriority.routerSubscription");
    Block topic = tf.resources("google_pubsub_topic").stream()
        .filter(b -> "${local.topology.highPriority.requestsTopic}".equals(b.text("name"))).findFirst().orElseThrow();
    Block normal = subscriptionNamed("routerSubscription");
    assertAll(
        () -> assertRefers(router.text("topic"), topic),
        () -> assertEquals("${local.topology.highPriority.retry.minBackoffSeconds}s",
            router.text("retry_policy", "minimum_backoff")),
        () -> assertEquals("${local.topology.highPriority.retry.maxBackoffSeconds}s",
            router.text("retry_policy", "maximum_backoff")),
        () -> assertEquals("${local.topology.highPriority.retry.maxDeliveryAttempts}",
            router.text("dead_letter_policy", "max_delivery_attempts")),
        () -> assertEquals(normal.text("dead_letter_policy", "dead_letter_topic"),
            router.text("dead_letter_policy", "dead_letter_topic")),
        () -> assertEquals(normal.text("push_config", "push_endpoint"), router.text("push_config", "push_endpoint")),
        () -> assertEquals(normal.text("push_config", "oidc_token", "service_account_email"),
            router.text("push_config", "oidc_token", "service_account_email")),
        () -> assertTrue(grants("google_pubsub_subscription", "subscription", router, "roles/pubsub.subscriber")),
        () -> assertTrue(TerraformConfig.at(router.body(), "depends_on").toString().contains("time_sleep.")));
  }

  private static Block subscriptionNamedAt(String path) {
    return tf.resources("google_pubsub_subscription").stream()
        .filter(b -> ("${local.topology." + path + "}").equals(b.text("name"))).findFirst()
        .orElseGet(() -> fail("no subscription named local.topology." + path));
  }

  @Test
  void retrySubscriptionUsesTheTopologyBackoffAndAttempts() {
    Block router = subscriptionNamed("routerSubscription");
    JsonNode retry = topology.path("retry");
    assertAll(
        () -> assertRefers(router.text("topic"), topicNamed("requestsTopic")),
        () -> assertEquals("${local.topology.retry.minBackoffSeconds}s", router.text("retry_policy", "minimum_backoff")),
        () -> assertEquals("${local.topology.retry.maxBackoffSeconds}s", router.text("retry_policy", "maximum_backoff")),
        () -> assertEquals(retry.path("minBackoffSeconds").asInt() + "s",
            tf.resolveText(router.text("retry_policy", "minimum_backoff"))),
        () -> assertEquals(retry.path("maxBackoffSeconds").asInt() + "s",
            tf.resolveText(router.text("retry_policy", "maximum_backoff"))),
        () -> assertEquals("${local.topology.retry.maxDeliveryAttempts}",
            router.text("dead_letter_policy", "max_delivery_attempts")),
        () -> assertEquals(retry.path("maxDeliveryAttempts"),
            tf.resolve(router.text("dead_letter_policy", "max_delivery_attempts"))),
        () -> assertRefers(router.text("dead_letter_policy", "dead_letter_topic"), topicNamed("deadLetterTopic")),
        () -> assertEquals("${local.topology.routerAckDeadlineSeconds}", router.text("ack_deadline_seconds")));
  }

  @Test
  void topologyValuesAreWithinPubSubLimits() {
    JsonNode retry = topology.path("retry");
    int min = retry.path("minBackoffSeconds").asInt(-1);
    int max = retry.path("maxBackoffSeconds").asInt(-1);
    int attempts = retry.path("maxDeliveryAttempts").asInt(-1);
    int retention = topology.path("messageRetentionSeconds").asInt(-1);
    int ack = topology.path("routerAckDeadlineSeconds").asInt(-1);
    assertAll(
        () -> assertTrue(min >= 0 && min <= max && max <= 600, "backoff bounds must satisfy 0 <= min <= max <= 600"),
        () -> assertTrue(attempts >= 5 && attempts <= 100, "max delivery attempts must be within 5..100"),
        () -> assertTrue(retention >= 600 && retention <= 604800, "subscription retention must be within 10 min..7 days"),
        () -> assertTrue(ack >= 10 && ack <= 600, "ack deadline must be within 10..600 s"));
  }

  @Test
  void pubSubServiceAgentMayPublishDeadLettersAndAcknowledgeTheSource() {
    Block deadLetter = topicNamed("deadLetterTopic");
    Block router = subscriptionNamed("routerSubscription");
    assertTrue(grants("google_pubsub_topic", "topic", deadLetter, "roles/pubsub.publisher"),
        "the Pub/Sub service agent needs roles/pubsub.publisher on the dead-letter topic");
    assertTrue(grants("google_pubsub_subscription", "subscription", router, "roles/pubsub.subscriber"),
        "the Pub/Sub service agent needs roles/pubsub.subscriber on the retry subscription");
  }

  @Test
  void pubSubServiceAgentIsMadeFirstAndGrantedToOnlyAfterAWait() {
    List<String> members = new ArrayList<>();
    for (Block iam : iamResources()) {
      for (String m : members(iam)) {
        if (m.contains("gcp-sa-pubsub") || m.contains("pubsub_service_agent") || PUBSUB_AGENT.matcher(m).matches()) {
          members.add(iam.address() + " -> " + m);
          assertTrue(PUBSUB_AGENT.matcher(m).matches(), iam.address() + " grants to the Pub/Sub agent through the wait, not " + m);
          Matcher wait = PUBSUB_AGENT.matcher(m);
          assertTrue(wait.matches());
          Block sleep = tf.resource("time_sleep", wait.group(1)).orElseGet(() -> fail("no time_sleep." + wait.group(1)));
          Matcher identity = Pattern.compile("^\\$\\{google_project_service_identity\\.([A-Za-z0-9_]+)\\.member}$")
              .matcher(String.valueOf(TerraformConfig.at(sleep.body(), "triggers").path("member").asText()));
          assertTrue(identity.matches(), sleep.address() + " waits after the service identity is made: " + sleep.body());
          Block agent = tf.resource("google_project_service_identity", identity.group(1)).orElseThrow();
          assertEquals("pubsub.googleapis.com", agent.text("service"));
          assertEquals("${google-beta}", agent.text("provider"), "google_project_service_identity is in google-beta (6.50)");
          assertTrue(durationSeconds(sleep.text("create_duration")) >= 30, sleep.address() + " waits at least 30 s");
        }
      }
    }
    // the relay's own (the high priority router subscription too), and the same three for the optional
    // upstream push subscription
    assertEquals(7, members.size(), "dead-letter publisher, router subscribers (normal and high), push token "
        + "creator, and dead-letter publisher, subscriber and token creator of the upstream push: " + members);
  }

  @Test
  void whatRunsCodeStartsOnlyAfterItsGrantsHadTimeToPropagate() {
    Map<Block, List<String>> identities = new LinkedHashMap<>();
    Block node = tf.resources("google_cloud_run_v2_service").get(0);
    identities.put(node, List.of(serviceAccountOf(node.text("template", "service_account"))));
    for (Block f : tf.resources("google_cloudfunctions2_function")) {
      identities.put(f, List.of(serviceAccountOf(f.text("service_config", "service_account_email")),
          serviceAccountOf(f.text("build_config", "service_account"))));
    }
    List<String> problems = new ArrayList<>();
    identities.forEach((runner, accounts) -> {
      String dependsOn = TerraformConfig.at(runner.body(), "depends_on").toString();
      List<Block> waits = tf.resources("time_sleep").stream().filter(w -> dependsOn.contains(w.address())).toList();
      if (waits.isEmpty()) {
        problems.add(runner.address() + " does not depend on a time_sleep after its grants");
        return;
      }
      String triggers = waits.stream().map(w -> TerraformConfig.at(w.body(), "triggers").toString()).reduce("", String::concat);
      for (Block iam : iamResources()) {
        boolean ownGrant = accounts.stream().anyMatch(a -> grantsTo(iam, a));
        if (ownGrant && !triggers.contains(iam.address() + ".") && !triggers.contains(iam.address() + " :")) {
          problems.add(runner.address() + ": " + iam.address() + " is not in the triggers of " + waits.get(0).address());
        }
      }
      waits.forEach(w -> {
        if (durationSeconds(w.text("create_duration")) < 60) {
          problems.add(w.address() + ": IAM needs about a minute; wait at least 60 s");
        }
      });
    });
    Block router = subscriptionNamed("routerSubscription");
    if (!TerraformConfig.at(router.body(), "depends_on").toString().contains("time_sleep.")) {
      problems.add(router.address() + " pushes at once: it must wait for the push identity's grants too");
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void noProjectWideStorageRoleReachesTheStateBucket() {
    // docs/DEPLOY.md: the state bucket is <project>-relay-tfstate, prefix push-relay/<environment>;
    // functions.tf: <project>-relay-<environment>-functions.
    String state = "projects/_/buckets/p-relay-tfstate/objects/push-relay/production/default.tfstate";
    List<String> problems = new ArrayList<>();
    for (Block g : tf.resources("google_project_iam_member")) {
      String roles = String.valueOf(g.text("for_each")) + " " + g.text("role");
      if (!roles.contains("roles/storage.")) {
        continue;
      }
      String expression = g.text("condition", "expression");
      if (expression == null) {
        problems.add(g.address() + " grants " + roles.trim() + " on the whole project, the state bucket included");
        continue;
      }
      String bucket = tf.resource("google_storage_bucket", "functions_source").orElseThrow().text("name")
          .replace("${var.project_id}", "p").replace("${var.environment}", "production");
      String resolved = expression.replace("${google_storage_bucket.functions_source.name}", bucket);
      if (conditionMatches(resolved, state)) {
        problems.add(g.address() + ": its condition reaches the state bucket: " + expression);
      }
      for (String needed : List.of("projects/_/buckets/" + bucket, "projects/_/buckets/" + bucket + "/objects/functions-1.zip",
          "projects/_/buckets/gcf-v2-sources-123-us-central1/objects/relay-send/function-source.zip")) {
        if (!conditionMatches(resolved, needed)) {
          problems.add(g.address() + ": its condition leaves out " + needed);
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  /** resource.name terms of an IAM condition (== and startsWith, joined by ||), against one name. */
  private static boolean conditionMatches(String expression, String name) {
    String text = expression.replaceAll("^\\$\\{join\\(\" \\|\\| \", \\[|]\\)}$", "");
    Matcher term = Pattern.compile("resource\\.name(?:\\s*==\\s*|\\.startsWith\\()\\\\?\"([^\"\\\\]*)\\\\?\"").matcher(text);
    boolean any = false;
    while (term.find()) {
      any = true;
      boolean prefix = text.startsWith(".startsWith(", term.start() + "resource.name".length());
      if (prefix ? name.startsWith(term.group(1)) : name.equals(term.group(1))) {
        return true;
      }
    }
    assertTrue(any, "cannot read the condition " + expression);
    return false;
  }

  private static int durationSeconds(String duration) {
    Matcher m = Pattern.compile("^(\\d+)(s|m)$").matcher(String.valueOf(duration));
    assertTrue(m.matches(), "a duration in s or m: " + duration);
    return Integer.parseInt(m.group(1)) * (m.group(2).equals("m") ? 60 : 1);
  }

  /**
   * The upstream topic exists (the socket node publishes to it under its custom role, and has no
   * topic-level grant); the optional push to the backend is authenticated, ordered, dead-lettered, and
   * alerts on its dead letters.
   */
  @Test
  void upstreamTopicTakesTheNodesPublishesAndItsOptionalPushIsGuarded() {
    Block upstream = topicNamed("upstreamTopic");
    List<String> nodeTopics = iamResources().stream()
        .filter(iam -> iam.type().equals("google_pubsub_topic_iam_member") && grantsTo(iam, "socket_node"))
        .map(iam -> iam.text("topic") + " " + iam.text("role")).sorted().toList();
    assertEquals(List.of(), nodeTopics,
        "the node publishes under its custom role (socketNodeMayManageItsOwnDeliveryTopicAndSubscriptionOnTheProject)");
    Block push = tf.resource("google_pubsub_subscription", "upstream_push").orElseGet(() -> fail("no upstream push"));
    Block deadLetter = tf.resource("google_pubsub_topic", "upstream_dead_letter").orElseThrow();
    assertAll(
        () -> assertRefers(push.text("topic"), upstream),
        () -> assertEquals("${var.upstream_push_endpoint}", push.text("push_config", "push_endpoint")),
        () -> assertTrue(SERVICE_ACCOUNT_REF.matcher(String.valueOf(
                push.text("push_config", "oidc_token", "service_account_email"))).matches(),
            "the push carries an OIDC token of an identity of its own"),
        () -> assertEquals("true", String.valueOf(TerraformConfig.at(push.body(), "enable_message_ordering").asText())),
        () -> assertRefers(push.text("dead_letter_policy", "dead_letter_topic"), deadLetter),
        () -> assertTrue(grants("google_pubsub_topic", "topic", deadLetter, "roles/pubsub.publisher")),
        () -> assertTrue(grants("google_pubsub_subscription", "subscription", push, "roles/pubsub.subscriber")),
        () -> assertTrue(TerraformConfig.at(push.body(), "depends_on").toString().contains("time_sleep.")),
        () -> assertTrue(tf.resource("google_monitoring_alert_policy", "upstream_dead_letter").orElseThrow()
            .body().toString().contains("google_pubsub_topic.upstream_dead_letter")));
  }

  @Test
  void deadLetterTopicHasASubscriptionThatKeepsMessages() {
    Block hold = subscriptionNamed("deadLetterHoldSubscription");
    assertAll(
        () -> assertRefers(hold.text("topic"), topicNamed("deadLetterTopic")),
        () -> assertEquals("", hold.text("expiration_policy", "ttl"), "the hold subscription must never expire"),
        () -> assertEquals(topology.path("messageRetentionSeconds").asInt() + "s",
            tf.resolveText(hold.text("message_retention_duration"))));
  }

  @Test
  void retrySubscriptionPushesToTheRouteFunctionWithAnOidcToken() {
    Block router = subscriptionNamed("routerSubscription");
    Block route = function("dev.pushrelay.functions.route.RouteFunction");
    String pushIdentity = router.text("push_config", "oidc_token", "service_account_email");
    assertAll(
        () -> assertRefers(router.text("push_config", "push_endpoint"), route),
        () -> assertNotNull(pushIdentity, "the push subscription needs push_config.oidc_token"),
        () -> assertTrue(SERVICE_ACCOUNT_REF.matcher(pushIdentity).matches(),
            "the push identity must be a service account of its own: " + pushIdentity));
    String account = serviceAccountOf(pushIdentity);
    Map<String, List<String>> invokers = invokersOf(route);
    assertFalse(invokers.isEmpty(), "nobody may invoke the route function, not even the push subscription");
    invokers.forEach((address, members) -> members.forEach(m -> assertTrue(
        m.equals("${google_service_account." + account + ".member}")
            || m.equals("serviceAccount:${google_service_account." + account + ".email}"),
        address + ": only the push identity may invoke the route function, found " + m)));
  }

  @Test
  void socketNodeServiceFitsLongLivedWebSockets() {
    List<Block> services = tf.resources("google_cloud_run_v2_service");
    assertEquals(1, services.size(), "one Cloud Run service: the socket node");
    Block node = services.get(0);
    JsonNode container = node.get("template", "containers");
    JsonNode concurrency = numberOrVariableDefault(node.text("template", "max_instance_request_concurrency"));
    List<String> env = new ArrayList<>();
    TerraformConfig.at(container, "env").forEach(e -> env.add(e.path("name").asText()));
    assertAll(
        () -> assertEquals("3600s", tf.resolveText(node.text("template", "timeout"))),
        () -> assertTrue(concurrency.isNumber() && concurrency.asInt() >= 1 && concurrency.asInt() <= 1000,
            "max_instance_request_concurrency must be 1..1000, is " + concurrency),
        () -> assertEquals("true", node.text("template", "session_affinity")),
        () -> assertEquals("true", TerraformConfig.at(container, "resources", "startup_cpu_boost").asText()),
        () -> assertEquals("/readyz", TerraformConfig.at(container, "startup_probe", "http_get", "path").asText()),
        () -> assertEquals("/healthz", TerraformConfig.at(container, "liveness_probe", "http_get", "path").asText()),
        () -> assertEquals("8080", TerraformConfig.at(container, "ports", "container_port").asText()),
        () -> assertTrue(node.text("template", "scaling", "min_instance_count").startsWith("${var."),
            "min instances is a variable"),
        () -> assertTrue(env.containsAll(List.of("GOOGLE_CLOUD_PROJECT", "RELAY_ALLOWED_ORIGINS",
            "RELAY_SEND_URL", "RELAY_MAX_CONNECTIONS")), "socket node environment: " + env));
    // the HS256 key: a dynamic env block, from Secret Manager, present in hs256 mode only
    String dynamicEnv = TerraformConfig.at(container, "dynamic").toString();
    assertTrue(dynamicEnv.contains("RELAY_JWT_SECRET") && dynamicEnv.contains("local.hs256")
        && dynamicEnv.contains("secret_key_ref") && dynamicEnv.contains("var.jwt_secret_id"),
        "RELAY_JWT_SECRET from Secret Manager in hs256 mode only: " + dynamicEnv);
    assertTrue(tf.resource("google_secret_manager_secret_iam_member", "jwt_secret_socket_node").orElseThrow()
        .text("count").contains("local.hs256"), "the node may read the HS256 key in hs256 mode only");
    String concurrencyExpr = node.text("template", "max_instance_request_concurrency");
    if (concurrencyExpr.startsWith("${var.")) {
      String variable = concurrencyExpr.substring("${var.".length(), concurrencyExpr.length() - 1);
      StringBuilder condition = new StringBuilder();
      tf.variables().get(variable).path("validation").forEach(v -> condition.append(v.path("condition").asText()));
      assertTrue(condition.toString().contains("<= 1000"), "variable " + variable + " must be validated to at most 1000");
    }
    TerraformConfig.at(container, "env").forEach(e -> {
      if (e.path("name").asText().equals("RELAY_JWT_SECRET")) {
        assertFalse(TerraformConfig.at(e, "value_source", "secret_key_ref", "secret").isMissingNode(),
            "RELAY_JWT_SECRET comes from Secret Manager, never a plain value");
      }
    });
  }

  @Test
  void functionsRunTheExpectedEntryPointsWithTheTopologyAttempts() {
    for (String entryPoint : List.of("dev.pushrelay.functions.send.SendFunction",
        "dev.pushrelay.functions.route.RouteFunction")) {
      Block f = function(entryPoint);
      assertEquals("java17", f.text("build_config", "runtime"), f.address());
      String env = f.text("service_config", "environment_variables");
      assertTrue(env != null && env.contains("local.function_env"), f.address() + " takes local.function_env");
      String source = "functions/src/main/java/" + entryPoint.replace('.', '/') + ".java";
      assertTrue(Files.isRegularFile(Repo.root().resolve(source)), "entry point class missing: " + source);
    }
    JsonNode functionEnv = tf.locals().get("function_env");
    assertNotNull(functionEnv, "local.function_env");
    assertEquals("${tostring(local.topology.retry.maxDeliveryAttempts)}",
        functionEnv.path("RELAY_MAX_DELIVERY_ATTEMPTS").asText());
  }

  /**
   * No IAM grant to allUsers or allAuthenticatedUsers, the socket node's included: the node is public by
   * its invoker check being off (FirstRunTest), which domain-restricted sharing allows where it refuses
   * such a grant.
   */
  @Test
  void noGrantIsPublic() {
    List<String> problems = new ArrayList<>();
    for (Block iam : iamResources()) {
      for (String member : members(iam)) {
        if (PUBLIC.contains(member)) {
          problems.add(iam.address() + " grants " + iam.text("role") + " to " + member);
        }
        if (member.startsWith("${each.")) {
          String forEach = iam.text("for_each");
          Matcher vars = Pattern.compile("var\\.([A-Za-z0-9_]+)").matcher(forEach);
          while (vars.find()) {
            JsonNode variable = tf.variables().get(vars.group(1));
            boolean rejectsPublic = false;
            for (JsonNode validation : variable.path("validation")) {
              String condition = validation.path("condition").asText();
              rejectsPublic |= condition.contains("allUsers") && condition.contains("allAuthenticatedUsers");
            }
            if (!rejectsPublic) {
              problems.add(iam.address() + " takes members from var." + vars.group(1)
                  + ", whose validation does not reject allUsers and allAuthenticatedUsers");
            }
            TerraformConfig.strings(variable.path("default"), d -> {
              if (PUBLIC.contains(d)) {
                problems.add("var." + vars.group(1) + " defaults to " + d);
              }
            });
          }
        }
      }
    }
    assertEquals(List.of(), problems);
    for (Block f : tf.resources("google_cloudfunctions2_function")) {
      assertFalse(invokersOf(f).values().stream().flatMap(List::stream).anyMatch(PUBLIC::contains),
          f.address() + " must not have a public invoker");
    }
  }

  /**
   * Both functions write the mailbox: the route function parks what it cannot deliver, and the send
   * function's direct route parks a message for a user with no live node before it answers (ParkFirst).
   * roles/datastore.viewer refuses those writes with PERMISSION_DENIED; roles/datastore.user holds
   * datastore.entities.create and .update. The grant is in place before the function is deployed.
   */
  @Test
  void functionsThatParkInTheMailboxMayWriteFirestore() throws java.io.IOException {
    String functions = "functions/src/main/java/dev/pushrelay/functions/";
    assertTrue(Files.readString(Repo.root().resolve(functions + "send/SendFunction.java")).contains("new ParkFirst("),
        "the send function parks first; if it no longer writes, this test says more than it needs to");
    assertTrue(Files.readString(Repo.root().resolve(functions + "route/RouteFunction.java")).contains("runtime.mailbox()"),
        "the route function parks in the mailbox");
    List<String> problems = new ArrayList<>();
    for (String entryPoint : List.of("dev.pushrelay.functions.send.SendFunction", "dev.pushrelay.functions.route.RouteFunction")) {
      Block f = function(entryPoint);
      String account = serviceAccountOf(f.text("service_config", "service_account_email"));
      List<Block> firestore = tf.resources("google_project_iam_member").stream()
          .filter(g -> grantsTo(g, account) && String.valueOf(g.text("role")).startsWith("roles/datastore."))
          .toList();
      List<String> roles = firestore.stream().map(g -> g.text("role")).toList();
      if (!roles.equals(List.of("roles/datastore.user"))) {
        problems.add(f.address() + " (" + account + ") holds " + roles + " on Firestore; it writes the mailbox:"
            + " roles/datastore.user and nothing else");
        continue;
      }
      if (!TerraformConfig.at(f.body(), "depends_on").toString().contains(firestore.get(0).address() + "}")) {
        problems.add(f.address() + " does not depend on " + firestore.get(0).address());
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void everythingThatRunsCodeHasItsOwnServiceAccount() {
    Map<String, String> identities = new LinkedHashMap<>();
    for (Block run : tf.resources("google_cloud_run_v2_service")) {
      identities.put(run.address() + " runtime", run.text("template", "service_account"));
    }
    for (Block f : tf.resources("google_cloudfunctions2_function")) {
      identities.put(f.address() + " runtime", f.text("service_config", "service_account_email"));
      identities.put(f.address() + " build", f.text("build_config", "service_account"));
    }
    for (Block s : tf.resources("google_pubsub_subscription")) {
      if (!s.get("push_config").isMissingNode()) {
        identities.put(s.address() + " push", s.text("push_config", "oidc_token", "service_account_email"));
      }
    }
    Map<String, List<String>> usersByAccount = new HashMap<>();
    List<String> problems = new ArrayList<>();
    identities.forEach((user, ref) -> {
      if (ref == null || !SERVICE_ACCOUNT_REF.matcher(ref).matches()) {
        problems.add(user + " does not name a google_service_account of this configuration: " + ref);
        return;
      }
      String account = serviceAccountOf(ref);
      if (tf.resource("google_service_account", account).isEmpty()) {
        problems.add(user + " refers to a missing google_service_account." + account);
      }
      usersByAccount.computeIfAbsent(account, a -> new ArrayList<>()).add(user);
    });
    // The two functions are built the same way by the same build identity, and the two retry
    // subscriptions (normal and high priority) push to the route function as one; everything else is unique.
    usersByAccount.forEach((account, users) -> {
      boolean onlyBuilds = users.stream().allMatch(u -> u.endsWith(" build"));
      boolean onlyRetryPushes = users.stream().allMatch(u -> u.equals("google_pubsub_subscription.router push")
          || u.equals("google_pubsub_subscription.router_high push"));
      if (users.size() > 1 && !onlyBuilds && !onlyRetryPushes) {
        problems.add("google_service_account." + account + " is shared by " + users);
      }
    });
    assertEquals(List.of(), problems);
  }

  @Test
  void noBasicRoleIsGranted() {
    List<String> basic = new ArrayList<>();
    for (Block iam : iamResources()) {
      String role = iam.text("role");
      if (role != null && Set.of("roles/owner", "roles/editor", "roles/viewer").contains(role)) {
        basic.add(iam.address() + " grants " + role);
      }
      String forEach = iam.text("for_each");
      if (forEach != null && forEach.matches("(?s).*\"roles/(owner|editor|viewer)\".*")) {
        basic.add(iam.address() + " grants a basic role through for_each");
      }
    }
    assertEquals(List.of(), basic);
  }

  /**
   * Each collection the relay writes has a TTL policy on the field it writes for it: {@code expiresAt},
   * but {@code purgeAt} for nodes, whose documents outlive their leases until the cleanup swept them.
   */
  @Test
  void firestoreHasTtlPoliciesOnTheFieldsTheRelayWrites() {
    Map<String, String> ttl = new TreeMap<>();
    for (Block field : tf.resources("google_firestore_field")) {
      if (!field.get("ttl_config").isMissingNode()) {
        ttl.put(field.text("collection"), field.text("field"));
      }
    }
    assertEquals(Map.of("connections", "expiresAt", "nodes", "purgeAt", "pending", "expiresAt",
        "revocations", "expiresAt", "sentIds", "expiresAt"), ttl);
  }

  @Test
  void providerVersionIsBoundedAndEveryVariableAndOutputIsTypedAndDescribed() {
    List<String> problems = new ArrayList<>();
    String googleVersion = null;
    for (JsonNode block : tf.terraformBlocks()) {
      JsonNode google = TerraformConfig.at(block, "required_providers", "google");
      if (!google.isMissingNode()) {
        googleVersion = google.path("version").asText();
        if (!"hashicorp/google".equals(google.path("source").asText())) {
          problems.add("google provider source must be hashicorp/google");
        }
      }
    }
    // Pinned to the patch releases of the one minor release the schema check is of (ProviderSchemaTest).
    if (googleVersion == null || !googleVersion.matches("~> \\d+\\.\\d+\\.\\d+")) {
      problems.add("the google provider must be pinned as ~> X.Y.Z: " + googleVersion);
    }
    tf.variables().forEach((name, v) -> {
      if (v.path("type").isMissingNode()) {
        problems.add("variable " + name + " has no type");
      }
      if (v.path("description").asText().isBlank()) {
        problems.add("variable " + name + " has no description");
      }
    });
    tf.outputs().forEach((name, o) -> {
      if (o.path("description").asText().isBlank()) {
        problems.add("output " + name + " has no description");
      }
    });
    for (String required : List.of("request_topic_id", "send_url", "socket_node_url", "dead_letter_subscription")) {
      if (!tf.outputs().containsKey(required)) {
        problems.add("missing output " + required);
      }
    }
    assertEquals(List.of(), problems);
  }

  // --- helpers ---------------------------------------------------------------------------------

  private static Block topicNamed(String key) {
    return named("google_pubsub_topic", key);
  }

  private static Block subscriptionNamed(String key) {
    return named("google_pubsub_subscription", key);
  }

  /** The one resource of the type whose name is exactly the topology reference. */
  private static Block named(String type, String key) {
    String expected = "${local.topology." + key + "}";
    List<Block> found = tf.resources(type).stream().filter(b -> expected.equals(b.text("name"))).toList();
    if (found.size() != 1) {
      fail(type + " with name = local.topology." + key + ": expected one, found " + found.size());
    }
    assertEquals(topology.path(key).asText(), tf.resolveText(found.get(0).text("name")));
    return found.get(0);
  }

  private static Block function(String entryPoint) {
    return tf.resources("google_cloudfunctions2_function").stream()
        .filter(f -> entryPoint.equals(f.text("build_config", "entry_point")))
        .findFirst()
        .orElseGet(() -> fail("no google_cloudfunctions2_function with entry point " + entryPoint));
  }

  private static boolean refersTo(String expression, Block target) {
    if (expression == null) {
      return false;
    }
    String ref = target.type() + "." + target.name();
    return Pattern.compile("\\$\\{[^}]*\\b" + Pattern.quote(ref) + "(\\.|\\[|})").matcher(expression).find();
  }

  private static void assertRefers(String expression, Block target) {
    assertTrue(refersTo(expression, target), "expected a reference to " + target.address() + ", found " + expression);
  }

  private static String serviceAccountOf(String ref) {
    Matcher m = SERVICE_ACCOUNT_REF.matcher(ref);
    assertTrue(m.matches(), ref);
    return m.group(1);
  }

  /** Whether an IAM resource grants to the service account {@code account} of this configuration. */
  private static boolean grantsTo(Block iam, String account) {
    return members(iam).stream().anyMatch(m -> m.equals("${google_service_account." + account + ".member}")
        || m.equals("serviceAccount:${google_service_account." + account + ".email}"));
  }

  private static List<Block> iamResources() {
    return tf.allResources().stream().filter(b -> b.type().contains("_iam_")).toList();
  }

  private static List<String> members(Block iam) {
    List<String> out = new ArrayList<>();
    JsonNode member = iam.get("member");
    if (member.isTextual()) {
      out.add(tf.resolveText(member.asText()));
    }
    iam.get("members").forEach(m -> out.add(tf.resolveText(m.asText())));
    return out;
  }

  /** The attribute naming what an IAM resource grants on (service, topic, subscription, ...). */
  private static String targetOf(Block iam) {
    for (String attribute : List.of("name", "service", "cloud_function", "topic", "subscription", "secret_id",
        "service_account_id", "project")) {
      String v = iam.text(attribute);
      if (v != null) {
        return v;
      }
    }
    return "";
  }

  /** Invoker grants on a function (on the function itself or on the Cloud Run service serving it). */
  private static Map<String, List<String>> invokersOf(Block function) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Block iam : iamResources()) {
      String role = iam.text("role");
      boolean invoker = "roles/run.invoker".equals(role) || "roles/cloudfunctions.invoker".equals(role);
      if (invoker && refersTo(targetOf(iam), function)) {
        out.put(iam.address(), members(iam));
      }
    }
    return out;
  }

  private static boolean grants(String targetType, String attribute, Block target, String role) {
    for (Block iam : iamResources()) {
      if (iam.type().startsWith(targetType + "_iam_") && role.equals(iam.text("role"))
          && refersTo(iam.text(attribute), target)
          && members(iam).stream().anyMatch(m -> PUBSUB_AGENT.matcher(m).matches())) {
        return true;
      }
    }
    return false;
  }

  /** A number literal, or the default of the variable the expression names. */
  private static JsonNode numberOrVariableDefault(String expression) {
    if (expression != null && expression.matches("\\$\\{var\\.[A-Za-z0-9_]+}")) {
      JsonNode v = tf.variables().get(expression.substring(6, expression.length() - 1));
      assertNotNull(v, "undeclared " + expression);
      return v.path("default");
    }
    return tf.resolve(expression);
  }

  /**
   * The node's catch-ups query the mailbox on composite indexes; a query whose index is still building fails.
   * So the service that Terraform creates starts only once every composite index is built. A release's
   * canary, deployed before its apply, has the node's own fallback for the newer index (MailboxClaims).
   */
  @Test
  void theSocketNodeStartsOnlyOnceEveryFirestoreIndexIsBuilt() {
    Block node = tf.resources("google_cloud_run_v2_service").get(0);
    String dependsOn = TerraformConfig.at(node.body(), "depends_on").toString();
    List<String> indexes = tf.resources("google_firestore_index").stream().map(Block::address).toList();
    assertFalse(indexes.isEmpty(), "the mailbox's composite indexes");
    assertEquals(List.of(), indexes.stream().filter(i -> !dependsOn.contains(i + "}")).toList(),
        node.address() + " depends on each composite index");
  }

}
