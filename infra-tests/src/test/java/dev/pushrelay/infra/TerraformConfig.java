package dev.pushrelay.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Terraform configuration in {@code terraform/} as JSON, one tree per file, parsed by the npm
 * package {@code @cdktf/hcl2json}. Expressions stay strings such as
 * {@code "${local.topology.requestsTopic}"}; {@link #resolve(String)} replaces references to
 * locals (and to the topology file) by their values so tests can compare with real values.
 */
final class TerraformConfig {
  /** One {@code resource "type" "name"} block. */
  record Block(String type, String name, String file, JsonNode body) {
    String address() {
      return type + "." + name;
    }

    /** An attribute: a nested block (a one-element list in the JSON) is unwrapped. */
    JsonNode get(String... path) {
      return TerraformConfig.at(body, path);
    }

    String text(String... path) {
      JsonNode n = get(path);
      return n.isMissingNode() || n.isNull() ? null : n.asText();
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LOCAL_REF = Pattern.compile("\\$\\{local\\.([A-Za-z0-9_]+)((?:\\.[A-Za-z0-9_]+)*)}");
  private static TerraformConfig cached;

  private final Map<String, JsonNode> files;
  private final JsonNode topology;

  private TerraformConfig(Map<String, JsonNode> files, JsonNode topology) {
    this.files = files;
    this.topology = topology;
  }

  /** Parses terraform/ once per test run (installing the parser with npm ci when needed). */
  static synchronized TerraformConfig load() {
    if (cached == null) {
      Path root = Repo.root();
      Path modules = installParser();
      Command.Result r = Command.run(root, Duration.ofMinutes(2),
          Map.of("NODE_PATH", modules.toString()),
          List.of(Command.tool("node"), Repo.module().resolve("src/test/node/terraform-to-json.cjs").toString(),
              root.resolve("terraform").toString()));
      if (r.exitCode() != 0) {
        throw new AssertionError("cannot parse terraform/ to JSON\n" + r.describe());
      }
      try {
        Map<String, JsonNode> files = new LinkedHashMap<>();
        JSON.readTree(r.stdout()).fields().forEachRemaining(e -> files.put(e.getKey(), e.getValue()));
        cached = new TerraformConfig(files, JSON.readTree(root.resolve("config/topology.json").toFile()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return cached;
  }

  /** Other HCL files (.tfvars, backend .hcl) as JSON by file name, parsed by the same parser. */
  static Map<String, JsonNode> parseHcl(List<Path> paths) {
    List<String> command = new ArrayList<>(List.of(Command.tool("node"),
        Repo.module().resolve("src/test/node/hcl-files-to-json.cjs").toString()));
    paths.forEach(p -> command.add(p.toString()));
    Command.Result r = Command.run(Repo.root(), Duration.ofMinutes(2), Map.of("NODE_PATH", installParser().toString()), command);
    if (r.exitCode() != 0) {
      throw new AssertionError("cannot parse " + paths + " to JSON\n" + r.describe());
    }
    try {
      Map<String, JsonNode> out = new LinkedHashMap<>();
      JSON.readTree(r.stdout()).fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** npm ci of infra-tests/package.json into target/, skipped when the lock file is unchanged. */
  private static synchronized Path installParser() {
    Path work = Repo.work("hcl2json");
    Path lock = Repo.module().resolve("package-lock.json");
    Path stamp = work.resolve("installed-package-lock.json");
    Path modules = work.resolve("node_modules");
    try {
      if (Files.isRegularFile(stamp) && Files.mismatch(stamp, lock) == -1
          && Files.isRegularFile(modules.resolve("@cdktf/hcl2json/package.json"))) {
        return modules;
      }
      Files.copy(Repo.module().resolve("package.json"), work.resolve("package.json"), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(lock, work.resolve("package-lock.json"), StandardCopyOption.REPLACE_EXISTING);
      Command.Result r = Command.run(work, Duration.ofMinutes(5), List.of(
          Command.tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"));
      if (r.exitCode() != 0) {
        throw new AssertionError("npm ci of the HCL parser failed\n" + r.describe());
      }
      Files.copy(lock, stamp, StandardCopyOption.REPLACE_EXISTING);
      return modules;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Map<String, JsonNode> files() {
    return files;
  }

  JsonNode topology() {
    return topology;
  }

  List<Block> resources(String type) {
    return blocks("resource", type);
  }

  List<Block> data(String type) {
    return blocks("data", type);
  }

  List<Block> allResources() {
    List<Block> out = new ArrayList<>();
    files.forEach((file, tree) -> tree.path("resource").fields().forEachRemaining(
        t -> t.getValue().fields().forEachRemaining(n -> n.getValue().forEach(
            body -> out.add(new Block(t.getKey(), n.getKey(), file, body))))));
    return out;
  }

  Optional<Block> resource(String type, String name) {
    return resources(type).stream().filter(b -> b.name().equals(name)).findFirst();
  }

  private List<Block> blocks(String kind, String type) {
    List<Block> out = new ArrayList<>();
    files.forEach((file, tree) -> tree.path(kind).path(type).fields().forEachRemaining(
        n -> n.getValue().forEach(body -> out.add(new Block(type, n.getKey(), file, body)))));
    return out;
  }

  /** {@code variable} blocks by name. */
  Map<String, JsonNode> variables() {
    return named("variable");
  }

  Map<String, JsonNode> outputs() {
    return named("output");
  }

  private Map<String, JsonNode> named(String kind) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    files.values().forEach(tree -> tree.path(kind).fields().forEachRemaining(
        e -> e.getValue().forEach(body -> out.put(e.getKey(), body))));
    return out;
  }

  /** Every {@code locals} entry of every file. */
  Map<String, JsonNode> locals() {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    files.values().forEach(tree -> tree.path("locals").forEach(
        block -> block.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()))));
    return out;
  }

  /** The {@code terraform { }} blocks of every file. */
  List<JsonNode> terraformBlocks() {
    List<JsonNode> out = new ArrayList<>();
    files.values().forEach(tree -> tree.path("terraform").forEach(out::add));
    return out;
  }

  /**
   * Replaces {@code ${local.topology.path}} by the value in config/topology.json and
   * {@code ${local.name}} by that local when it is a plain string template. An expression that is
   * one such reference alone resolves to the value itself (a number stays a number).
   */
  JsonNode resolve(String expression) {
    if (expression == null) {
      return MissingNode.getInstance();
    }
    String current = expression;
    for (int round = 0; round < 10; round++) {
      Matcher whole = LOCAL_REF.matcher(current);
      if (whole.matches()) {
        JsonNode value = localValue(whole.group(1), whole.group(2));
        if (value != null && !value.isTextual()) {
          return value;
        }
      }
      Matcher m = LOCAL_REF.matcher(current);
      StringBuilder sb = new StringBuilder();
      boolean changed = false;
      while (m.find()) {
        JsonNode value = localValue(m.group(1), m.group(2));
        String replacement = value != null && (value.isValueNode()) ? value.asText() : m.group();
        changed |= !replacement.equals(m.group());
        m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
      }
      m.appendTail(sb);
      if (!changed) {
        return TextNode.valueOf(current);
      }
      current = sb.toString();
    }
    throw new AssertionError("locals refer to each other in a loop: " + expression);
  }

  String resolveText(String expression) {
    return resolve(expression).asText();
  }

  private JsonNode localValue(String name, String path) {
    if (name.equals("topology")) {
      JsonNode n = topology;
      for (String part : path.isEmpty() ? new String[0] : path.substring(1).split("\\.")) {
        n = n.path(part);
      }
      return n.isMissingNode() ? null : n;
    }
    JsonNode local = locals().get(name);
    if (local == null || !path.isEmpty() || !local.isTextual() || local.asText().startsWith("${") && local.asText().endsWith(")}")) {
      return null;
    }
    return local;
  }

  /** Follows a path of attribute names through nested blocks (one-element lists). */
  static JsonNode at(JsonNode node, String... path) {
    JsonNode n = node;
    for (String part : path) {
      n = unwrap(n).path(part);
    }
    return unwrap(n);
  }

  private static JsonNode unwrap(JsonNode n) {
    return n.isArray() && n.size() == 1 && n.get(0).isObject() ? n.get(0) : n;
  }

  /** Visits every string value in a tree. */
  static void strings(JsonNode node, Consumer<String> visitor) {
    if (node.isTextual()) {
      visitor.accept(node.asText());
    } else if (node.isContainerNode()) {
      for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
        strings(it.next(), visitor);
      }
    }
  }
}
