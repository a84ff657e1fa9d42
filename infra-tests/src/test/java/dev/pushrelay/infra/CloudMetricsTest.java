package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With Terraform's defaults every alert on the relay's own figures queries metrics that the processes
 * write. The end-to-end suite runs every deployable with the export Terraform turns on
 * (RELAY_CLOUD_TELEMETRY) into a fake of the Monitoring API at the wire, and leaves the shape of each
 * time series written (type, resource, labels) in e2e/target/cloud-telemetry/series.jsonl. Each metric
 * selector of each alert's PromQL must name a type written there, on the resource it names, with every
 * label it matches on or groups by, and each value an equality matcher asks for.
 */
class CloudMetricsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ALERT_QUERY = Pattern.compile("local\\.promql\\.([a-z0-9_]+)");
  private static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+)(?:\\{([^}]*)})?");
  private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");
  private static final Pattern GROUPING = Pattern.compile("\\bby\\s*\\(([^)]*)\\)");
  /** A relay instrument by its local Prometheus name, which Cloud Monitoring does not know. */
  private static final Pattern PROMETHEUS_NAME =
      Pattern.compile("(?<![:A-Za-z0-9_])((?:websocket|relay)_[a-z_]+)");
  /** A quoted query of a dashboard tile in monitoring.tf, or a tile built on one of local.promql. */
  private static final Pattern TILE = Pattern.compile(
      "query\\s*=\\s*(?:\"((?:[^\"\\\\]|\\\\.)*)\"|(?:trimspace\\()?(local\\.promql\\.[a-z0-9_]+))");

  private static TerraformConfig tf;
  private static List<JsonNode> written;

  @BeforeAll
  static void load() throws IOException {
    tf = TerraformConfig.load();
    Path file = Path.of(System.getProperty("cloud.series",
        Repo.root().resolve("e2e/target/cloud-telemetry/series.jsonl").toString()));
    assertTrue(Files.isRegularFile(file), "no time series at " + file
        + ": the end-to-end suite writes them, so run mvn verify from the repository's root");
    written = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      written.add(JSON.readTree(line));
    }
    assertFalse(written.isEmpty(), file + " is empty");
  }

  @Test
  void everyServiceLevelAlertQueriesMetricsTheProcessesWriteWithTheLabelsItUses() {
    Map<String, String> queries = alertQueries();
    assertEquals(4, queries.size(), "the seed's four service-level alerts: " + queries.keySet());
    List<String> problems = new ArrayList<>();
    queries.forEach((name, query) -> problems.addAll(check(name, query)));
    assertEquals(List.of(), problems);
  }

  @Test
  void everyDashboardTileQueriesMetricsTheProcessesWrite() throws IOException {
    String monitoring = Files.readString(Repo.root().resolve("terraform/monitoring.tf"));
    String dashboard = monitoring.substring(monitoring.indexOf("resource \"google_monitoring_dashboard\""));
    Matcher tile = TILE.matcher(dashboard);
    List<String> problems = new ArrayList<>();
    int tiles = 0;
    while (tile.find()) {
      tiles++;
      String query = tile.group(1) != null
          ? tf.resolveText(tile.group(1).replace("\\\"", "\"").replace("\\\\", "\\"))
          : tf.resolveText(tf.locals().get("promql").path(tile.group(2).substring("local.promql.".length())).asText());
      problems.addAll(check("tile " + tiles, query));
    }
    assertTrue(tiles >= 10, "the dashboard's tiles: " + tiles);
    assertEquals(List.of(), problems);
  }

  @Test
  void theExportIsOnByDefaultInEveryDeployable() {
    JsonNode env = tf.locals().get("telemetry_env");
    assertTrue(Pattern.compile("RELAY_CLOUD_TELEMETRY\\s*=\\s*\"true\"").matcher(env.asText()).find(),
        "local.telemetry_env turns the export on: " + env);
    assertTrue(env.asText().indexOf("RELAY_CLOUD_TELEMETRY") < env.asText().indexOf("var.otel_environment"),
        "otel_environment adds to the defaults, it does not replace them: " + env);
    TerraformConfig.Block node = tf.resources("google_cloud_run_v2_service").stream()
        .filter(b -> b.name().equals("socket_node")).findFirst().orElseThrow();
    assertTrue(node.body().toString().contains("${local.telemetry_env}"), "the socket node takes local.telemetry_env");
    List<TerraformConfig.Block> functions = tf.resources("google_cloudfunctions2_function");
    assertEquals(2, functions.size());
    functions.forEach(f -> assertTrue(f.text("service_config", "environment_variables").contains("local.telemetry_env"),
        f.address() + " takes local.telemetry_env"));
  }

  @Test
  void aQueryOnAMetricNobodyWritesIsCaught() {
    assertEquals(2, check("local name", "sum(rate(relay_dead_letter_total[5m]))").size(), "no selector, a local name");
    List<String> problems = check("made up", "sum(rate(workload_googleapis_com:websocket_connection_tries"
        + "{monitored_resource=\"generic_task\"}[5m]))");
    assertEquals(1, problems.size(), problems.toString());
    problems = check("wrong label", "sum(rate(workload_googleapis_com:websocket_connection_attempts"
        + "{monitored_resource=\"generic_task\",result=\"accepted\"}[5m]))");
    assertEquals(1, problems.size(), problems.toString());
    problems = check("grouped by a label it lacks", "sum by (part) (rate(workload_googleapis_com:"
        + "relay_messages_accepted[5m])) / scalar(sum(rate(workload_googleapis_com:relay_messages_accepted[5m])))");
    assertEquals(1, problems.size(), problems.toString());
  }

  /** The PromQL of each alert of local.relay_alerts, by the name of the promql local it is built on. */
  private static Map<String, String> alertQueries() {
    Map<String, String> queries = new TreeMap<>();
    tf.locals().get("relay_alerts").fields().forEachRemaining(alert -> {
      Matcher m = ALERT_QUERY.matcher(alert.getValue().path("query").asText());
      assertTrue(m.find(), alert.getKey() + " is built on a query of local.promql");
      queries.put(m.group(1), tf.resolveText(tf.locals().get("promql").path(m.group(1)).asText()));
    });
    return queries;
  }

  /** A {@code by (labels)} clause: the labels it groups by, and the span of the expression it aggregates. */
  private record Grouping(List<String> labels, int from, int to) {}

  /** Each {@code by (…)} of the query, over the parenthesised expression that follows it. */
  private static List<Grouping> groupings(String query) {
    List<Grouping> found = new ArrayList<>();
    Matcher by = GROUPING.matcher(query);
    while (by.find()) {
      List<String> labels = new ArrayList<>();
      for (String label : by.group(1).split(",")) {
        if (!label.isBlank() && !label.trim().equals("le")) {
          labels.add(label.trim());
        }
      }
      int open = query.indexOf('(', by.end());
      int depth = 0;
      int close = open;
      for (int i = open; i < query.length() && open >= 0; i++) {
        depth += query.charAt(i) == '(' ? 1 : query.charAt(i) == ')' ? -1 : 0;
        if (depth == 0) {
          close = i;
          break;
        }
      }
      found.add(new Grouping(labels, open, close));
    }
    return found;
  }

  private static List<String> check(String name, String query) {
    List<String> problems = new ArrayList<>();
    List<Grouping> groupings = groupings(query);
    Matcher selector = SELECTOR.matcher(query);
    int selectors = 0;
    while (selector.find()) {
      selectors++;
      String metric = selector.group(1);
      List<JsonNode> series = written.stream().filter(s -> promqlNames(s).contains(metric)).toList();
      if (series.isEmpty()) {
        problems.add(name + ": no process wrote " + metric);
        continue;
      }
      List<String[]> matchers = new ArrayList<>();
      Matcher m = MATCHER.matcher(selector.group(2) == null ? "" : selector.group(2));
      while (m.find()) {
        matchers.add(new String[] {m.group(1), m.group(2), m.group(3)});
      }
      int at = selector.start();
      groupings.stream().filter(g -> g.from() <= at && at <= g.to())
          .forEach(g -> g.labels().forEach(label -> matchers.add(new String[] {label, "!~", ""})));
      for (String[] matcher : matchers) {
        String label = matcher[0];
        boolean equality = matcher[1].equals("=");
        boolean found = series.stream().anyMatch(s -> label.equals("monitored_resource")
            ? s.get("resource").asText().equals(matcher[2])
            : s.path("labels").has(label) && (!equality || s.path("labels").get(label).asText().equals(matcher[2])));
        if (!found) {
          problems.add(name + ": " + metric + " was never written with " + label
              + (equality ? "=\"" + matcher[2] + "\"" : ""));
        }
      }
    }
    if (selectors == 0) {
      problems.add(name + ": no metric selector in " + query);
    }
    Matcher local = PROMETHEUS_NAME.matcher(query);
    while (local.find()) {
      problems.add(name + ": " + local.group(1) + " is a name of GET /metrics, not of Cloud Monitoring");
    }
    return problems;
  }

  /**
   * The names PromQL knows a written type by: the first '/' becomes ':', every other character but
   * letters, digits and '_' becomes '_'; a distribution is read through _bucket, _count and _sum.
   */
  static List<String> promqlNames(JsonNode series) {
    String type = series.get("type").asText();
    int slash = type.indexOf('/');
    String name = type.substring(0, slash).replaceAll("[^A-Za-z0-9_]", "_") + ":"
        + type.substring(slash + 1).replaceAll("[^A-Za-z0-9_]", "_");
    return series.path("value").asText().equals("DISTRIBUTION_VALUE")
        ? List.of(name + "_bucket", name + "_count", name + "_sum")
        : List.of(name);
  }
}
