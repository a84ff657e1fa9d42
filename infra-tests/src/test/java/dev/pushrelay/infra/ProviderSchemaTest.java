package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
 * terraform/ against the schema of the providers it pins, offline: what {@code terraform validate}
 * would say, without downloading a provider. The schema is infra-tests/schema/provider-schema.json,
 * trimmed to the types terraform/ uses by infra-tests/schema/extract-provider-schema.mjs from the
 * prebuilt bindings of exactly the pinned releases (@cdktf/provider-google 16.12.1 = google 6.50.0).
 *
 * <p>Every resource and data block: its type exists in the provider the block uses; every argument
 * and nested block exists; every required one is there; no computed-only attribute is set; a literal
 * value of an attribute with documented values is one of them. Every reference to a resource or data
 * source resolves to a declared block and to an attribute its schema has, every var. and local. to a
 * declaration, and the references and depends_on between resources and locals form no cycle.
 */
class ProviderSchemaTest {
  /** Arguments Terraform itself takes on every resource and data block. */
  private static final Set<String> META = Set.of("count", "for_each", "depends_on", "lifecycle", "provider",
      "provisioner", "connection");
  /** resource.name.attr, data.type.name.attr: the first part of a reference to a managed or data block. */
  private static final Pattern REFERENCE = Pattern.compile(
      "(?<![\\w.\\]])(data\\.)?((?:google|time)_[a-z0-9_]+)\\.([a-zA-Z_][a-zA-Z0-9_-]*)((?:\\[[^\\]]*]|\\.[a-zA-Z_][a-zA-Z0-9_]*)*)");
  private static final Pattern STEP = Pattern.compile("\\[[^\\]]*]|\\.([a-zA-Z_][a-zA-Z0-9_]*)");
  private static final Pattern VAR_OR_LOCAL = Pattern.compile("(?<![\\w.])(var|local)\\.([a-zA-Z_][a-zA-Z0-9_]*)");

  private static TerraformConfig tf;
  private static JsonNode schema;

  @BeforeAll
  static void load() throws IOException {
    tf = TerraformConfig.load();
    schema = new ObjectMapper().readTree(Repo.module().resolve("schema/provider-schema.json").toFile());
  }

  @Test
  void theSchemaIsOfThePinnedProvidersAndHoldsExactlyTheTypesInUse() {
    List<String> problems = new ArrayList<>();
    Map<String, JsonNode> required = new LinkedHashMap<>();
    for (JsonNode block : tf.terraformBlocks()) {
      TerraformConfig.at(block, "required_providers").fields().forEachRemaining(e -> required.put(e.getKey(), e.getValue()));
    }
    schema.path("providers").fields().forEachRemaining(e -> {
      JsonNode pin = required.get(e.getKey());
      String version = e.getValue().path("version").asText();
      if (pin == null) {
        problems.add("versions.tf does not require provider " + e.getKey() + " (the schema has it)");
        return;
      }
      if (!pin.path("source").asText().equals(e.getValue().path("source").asText())) {
        problems.add(e.getKey() + ": source " + pin.path("source").asText() + ", schema from " + e.getValue().path("source"));
      }
      // ~> X.Y.Z: patch releases of X.Y only, so the checked X.Y.0 schema is the one applied.
      String expected = "~> " + version.replaceAll("\\.\\d+$", "") + "." + version.replaceAll("^.*\\.", "");
      if (!pin.path("version").asText().equals(expected)) {
        problems.add(e.getKey() + " must be pinned to \"" + expected + "\" (the release the schema is of), is \""
            + pin.path("version").asText() + "\"");
      }
    });
    required.keySet().stream().filter(p -> !schema.path("providers").has(p))
        .forEach(p -> problems.add("provider " + p + " is required but not in the schema: add it to extract-provider-schema.mjs"));

    for (String kind : List.of("resource", "data")) {
      Set<String> used = new TreeSet<>();
      tf.files().values().forEach(tree -> tree.path(kind).fieldNames().forEachRemaining(used::add));
      used.remove("terraform_data");
      Set<String> inSchema = new TreeSet<>();
      schema.path(kind).fieldNames().forEachRemaining(inSchema::add);
      if (!used.equals(inSchema)) {
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(inSchema);
        Set<String> extra = new TreeSet<>(inSchema);
        extra.removeAll(used);
        problems.add(kind + " types: not in the schema " + missing + ", in the schema but unused " + extra
            + " (a type no pinned provider has stays missing; else run node infra-tests/schema/extract-provider-schema.mjs)");
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void everyBlockMatchesItsProvidersSchema() {
    List<String> problems = new ArrayList<>();
    tf.files().forEach((file, tree) -> {
      for (String kind : List.of("resource", "data")) {
        tree.path(kind).fields().forEachRemaining(type -> type.getValue().fields().forEachRemaining(name ->
            name.getValue().forEach(body -> {
              String where = file + ": " + (kind.equals("data") ? "data." : "") + type.getKey() + "." + name.getKey();
              if (type.getKey().equals("terraform_data")) {
                return;
              }
              JsonNode typeSchema = schema.path(kind).path(type.getKey());
              if (typeSchema.isMissingNode()) {
                problems.add(where + ": no such " + kind + " type in the pinned providers");
                return;
              }
              String provider = typeSchema.path("provider").asText();
              String uses = body.has("provider") ? body.path("provider").asText().replaceAll("^\\$\\{|}$", "") : "google";
              if (type.getKey().startsWith("time_") && !body.has("provider")) {
                uses = "time";
              }
              if (!uses.equals(provider)) {
                problems.add(where + ": the type is in provider " + provider + ", the block uses " + uses
                    + (provider.equals("google-beta") ? " (set provider = google-beta)" : ""));
              }
              checkBlock(where, body, typeSchema, true, problems);
            })));
      }
    });
    assertEquals(List.of(), problems);
  }

  @Test
  void everyReferenceResolvesToADeclarationAndAnAttributeItHas() {
    Set<String> declared = new TreeSet<>();
    for (String kind : List.of("resource", "data")) {
      tf.files().values().forEach(tree -> tree.path(kind).fields().forEachRemaining(t -> t.getValue().fieldNames()
          .forEachRemaining(n -> declared.add((kind.equals("data") ? "data." : "") + t.getKey() + "." + n))));
    }
    Set<String> variables = tf.variables().keySet();
    Set<String> locals = tf.locals().keySet();
    List<String> problems = new ArrayList<>();
    tf.files().forEach((file, tree) -> TerraformConfig.strings(tree, s -> {
      for (String expr : expressions(s)) {
        Matcher m = REFERENCE.matcher(expr);
        while (m.find()) {
          boolean data = m.group(1) != null;
          String address = (data ? "data." : "") + m.group(2) + "." + m.group(3);
          if (!declared.contains(address)) {
            problems.add(file + ": " + m.group() + " refers to " + address + ", which is not declared");
            continue;
          }
          String path = resolvePath(schema.path(data ? "data" : "resource").path(m.group(2)), m.group(4));
          if (path != null) {
            problems.add(file + ": " + m.group() + ": " + path);
          }
        }
        Matcher v = VAR_OR_LOCAL.matcher(expr);
        while (v.find()) {
          boolean isVar = v.group(1).equals("var");
          if (!(isVar ? variables : locals).contains(v.group(2))) {
            problems.add(file + ": " + v.group() + " is not declared");
          }
        }
      }
    }));
    assertEquals(List.of(), problems);
  }

  @Test
  void resourcesAndLocalsDependOnEachOtherWithoutACycle() {
    Map<String, Set<String>> edges = new TreeMap<>();
    tf.files().values().forEach(tree -> {
      for (String kind : List.of("resource", "data")) {
        tree.path(kind).fields().forEachRemaining(t -> t.getValue().fields().forEachRemaining(n -> n.getValue().forEach(
            body -> edges.computeIfAbsent((kind.equals("data") ? "data." : "") + t.getKey() + "." + n.getKey(),
                k -> new TreeSet<>()).addAll(dependencies(body)))));
      }
    });
    tf.locals().forEach((name, value) -> edges.computeIfAbsent("local." + name, k -> new TreeSet<>()).addAll(dependencies(value)));
    List<String> cycle = new ArrayList<>();
    Set<String> done = new LinkedHashSet<>();
    for (String node : edges.keySet()) {
      if (cycle.isEmpty()) {
        findCycle(node, edges, new ArrayList<>(), done, cycle);
      }
    }
    assertEquals(List.of(), cycle, "terraform would refuse this dependency cycle");
  }

  // --- blocks ----------------------------------------------------------------------------------

  private static void checkBlock(String where, JsonNode body, JsonNode blockSchema, boolean topLevel, List<String> problems) {
    JsonNode attributes = blockSchema.path("attributes");
    JsonNode blocks = blockSchema.path("blocks");
    Set<String> present = new TreeSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode value = e.getValue();
      if (topLevel && META.contains(name)) {
        continue;
      }
      if (name.equals("dynamic")) {
        value.fields().forEachRemaining(d -> {
          JsonNode nested = blocks.path(d.getKey());
          if (nested.isMissingNode()) {
            problems.add(where + ": dynamic \"" + d.getKey() + "\" is not a block of this type");
            return;
          }
          present.add(d.getKey());
          for (JsonNode dyn : d.getValue()) {
            for (JsonNode content : dyn.path("content")) {
              checkBlock(where + "." + d.getKey() + "(dynamic)", content, nested, false, problems);
            }
          }
        });
        continue;
      }
      JsonNode attribute = attributes.path(name);
      JsonNode nested = blocks.path(name);
      if (!attribute.isMissingNode()) {
        present.add(name);
        if (attribute.path("computedOnly").asBoolean()) {
          problems.add(where + "." + name + " is computed-only: it cannot be set");
          continue;
        }
        if (isBlockSyntax(value) && !attribute.path("type").asText().equals("list")
            && !attribute.path("type").asText().equals("any")) {
          problems.add(where + "." + name + " is an attribute: write " + name + " = …, not a block");
        }
        JsonNode allowed = attribute.path("enum");
        if (allowed.isArray() && value.isTextual() && !value.asText().contains("${") && !value.asText().contains("%{")) {
          Set<String> values = new TreeSet<>();
          allowed.forEach(a -> values.add(a.asText()));
          if (!values.contains(value.asText())) {
            problems.add(where + "." + name + " = \"" + value.asText() + "\" is not one of " + values);
          }
        }
      } else if (!nested.isMissingNode()) {
        present.add(name);
        if (nested.path("computedOnly").asBoolean()) {
          problems.add(where + "." + name + " is computed-only: it cannot be set");
          continue;
        }
        if (!isBlockSyntax(value)) {
          problems.add(where + "." + name + " is a block: write " + name + " { … }, not " + name + " = …");
          continue;
        }
        if (nested.path("nesting").asText().equals("single") && value.size() > 1) {
          problems.add(where + "." + name + " may appear once, appears " + value.size() + " times");
        }
        for (JsonNode b : value) {
          checkBlock(where + "." + name, b, nested, false, problems);
        }
      } else {
        problems.add(where + "." + name + ": no such argument or block");
      }
    }
    attributes.fields().forEachRemaining(a -> {
      if (a.getValue().path("required").asBoolean() && !present.contains(a.getKey())) {
        problems.add(where + ": required argument " + a.getKey() + " is missing");
      }
    });
    blocks.fields().forEachRemaining(b -> {
      if (b.getValue().path("required").asBoolean() && !present.contains(b.getKey())) {
        problems.add(where + ": required block " + b.getKey() + " is missing");
      }
    });
  }

  /** hcl2json writes a block as a list of objects; an attribute's object value stays an object. */
  private static boolean isBlockSyntax(JsonNode value) {
    if (!value.isArray() || value.isEmpty()) {
      return false;
    }
    for (JsonNode v : value) {
      if (!v.isObject()) {
        return false;
      }
    }
    return true;
  }

  // --- references ------------------------------------------------------------------------------

  /** The interpolations of a string (the whole string when it is one). */
  private static List<String> expressions(String s) {
    List<String> out = new ArrayList<>();
    int i = 0;
    while ((i = indexOfInterpolation(s, i)) >= 0) {
      int depth = 0;
      int j = i + 2;
      for (; j < s.length(); j++) {
        char c = s.charAt(j);
        if (c == '{') {
          depth++;
        } else if (c == '}') {
          if (depth == 0) {
            break;
          }
          depth--;
        }
      }
      out.add(s.substring(i + 2, Math.min(j, s.length())));
      i = j;
    }
    return out;
  }

  private static int indexOfInterpolation(String s, int from) {
    int a = s.indexOf("${", from);
    int b = s.indexOf("%{", from);
    return a < 0 ? b : b < 0 ? a : Math.min(a, b);
  }

  /** Null when the attribute path after {@code type.name} exists in the type's schema, else why not. */
  private static String resolvePath(JsonNode typeSchema, String rest) {
    JsonNode block = typeSchema;
    Matcher m = STEP.matcher(rest);
    boolean inAttribute = false;
    while (m.find()) {
      if (m.group(1) == null || inAttribute) {
        continue; // an index, a key, or a step inside an attribute's value
      }
      String name = m.group(1);
      JsonNode attribute = block.path("attributes").path(name);
      if (!attribute.isMissingNode()) {
        inAttribute = true;
        continue;
      }
      JsonNode nested = block.path("blocks").path(name);
      if (nested.isMissingNode()) {
        return "the schema has no attribute or block " + name;
      }
      block = nested;
    }
    return null;
  }

  private static Set<String> dependencies(JsonNode body) {
    Set<String> out = new TreeSet<>();
    TerraformConfig.strings(body, s -> {
      for (String expr : expressions(s)) {
        Matcher m = REFERENCE.matcher(expr);
        while (m.find()) {
          out.add((m.group(1) != null ? "data." : "") + m.group(2) + "." + m.group(3));
        }
        Matcher l = VAR_OR_LOCAL.matcher(expr);
        while (l.find()) {
          if (l.group(1).equals("local")) {
            out.add("local." + l.group(2));
          }
        }
      }
    });
    return out;
  }

  private static void findCycle(String node, Map<String, Set<String>> edges, List<String> path, Set<String> done,
      List<String> cycle) {
    if (done.contains(node) || !cycle.isEmpty()) {
      return;
    }
    int at = path.indexOf(node);
    if (at >= 0) {
      cycle.addAll(path.subList(at, path.size()));
      cycle.add(node);
      return;
    }
    path.add(node);
    for (String next : edges.getOrDefault(node, Set.of())) {
      findCycle(next, edges, path, done, cycle);
    }
    path.remove(path.size() - 1);
    done.add(node);
  }

  @Test
  void theCheckRejectsWhatTerraformValidateWould() {
    // The checker on known-bad blocks, so that a green run means something.
    JsonNode topic = schema.path("resource").path("google_pubsub_topic");
    ObjectMapper json = new ObjectMapper();
    List<String> problems = new ArrayList<>();
    checkBlock("t", json.createObjectNode().put("labelz", "x").put("id", "x"), topic, true, problems);
    checkBlock("t2", json.createObjectNode().put("name", "n").put("effective_labels", "x"), topic, true, problems);
    JsonNode run = schema.path("resource").path("google_cloud_run_v2_service");
    checkBlock("r", json.createObjectNode().put("name", "n").put("location", "l").put("ingress", "ALL")
        .set("template", json.createArrayNode().add(json.createObjectNode())), run, true, problems);
    String joined = String.join("\n", problems);
    assertTrue(joined.contains("t.labelz: no such argument"), joined);
    assertTrue(joined.contains("t: required argument name is missing"), joined);
    assertTrue(joined.contains("t2.effective_labels is computed-only"), joined);
    assertTrue(joined.contains("r.ingress = \"ALL\" is not one of"), joined);
    assertEquals("the schema has no attribute or block urls",
        resolvePath(schema.path("resource").path("google_cloudfunctions2_function"), ".service_config[0].urls"));
    assertEquals(null, resolvePath(schema.path("resource").path("google_cloudfunctions2_function"), ".service_config[0].uri"));
  }
}
