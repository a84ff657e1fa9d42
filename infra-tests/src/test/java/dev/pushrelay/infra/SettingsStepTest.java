package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deployer-settings step of cloudbuild.yaml, run here with a fake gcloud: the settings in
 * gs://BUCKET/push-relay.tfvars reach Terraform as they are, and a file that cannot be read, missing or
 * refused, stops the build. Taking it for "no settings" would apply with no send invokers, any origin
 * and no alert e-mail, and nothing would say so.
 */
class SettingsStepTest {
  private static final String BUCKET = "p-relay-tfstate";
  private static final String OBJECT = "gs://" + BUCKET + "/push-relay.tfvars";
  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{(_[A-Z0-9_]+)}");
  /** The build's own account, as the fake gcloud tells it. */
  private static final String ACCOUNT = """
      "config get-value account"*) echo relay-deployer@p.iam.gserviceaccount.com ;;
      """;

  private static String script;

  @BeforeAll
  static void parse() throws IOException {
    JsonNode build = new ObjectMapper(new YAMLFactory()).readTree(Repo.root().resolve("cloudbuild.yaml").toFile());
    JsonNode step = null;
    for (JsonNode s : build.path("steps")) {
      if (s.path("id").asText().equals("deployer-settings")) {
        step = s;
      }
    }
    assertTrue(step != null, "cloudbuild.yaml has a deployer-settings step");
    assertEquals("bash", step.path("entrypoint").asText());
    assertEquals("-c", step.path("args").path(0).asText());
    JsonNode substitutions = build.path("substitutions");
    Matcher m = SUBSTITUTION.matcher(step.path("args").path(1).asText());
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = m.group(1).equals("_TF_STATE_BUCKET") ? BUCKET : substitutions.path(m.group(1)).asText();
      m.appendReplacement(sb, Matcher.quoteReplacement(value));
    }
    m.appendTail(sb);
    // what Cloud Build hands the shell: $$ is a literal $
    script = sb.toString().replace("$$", "$");
    assertTrue(script.contains(OBJECT), script);
  }

  @Test
  void theSettingsReachTerraformAsTheyAre() throws IOException {
    String settings = "allowed_origins = [\"https://app.example.com\"]\n";
    Path workspace = Files.createTempDirectory(Repo.work("settings-step"), "readable-");
    Files.writeString(workspace.resolve("settings"), settings);
    FakeGcloud gcloud = new FakeGcloud("settings-readable", ACCOUNT + """
        "storage objects describe %1$s"*) ;;
        "storage cp %1$s "*) cp "$PWD/settings" "${@: -1}" ;;
        """.formatted(OBJECT));
    Command.Result r = gcloud.run(workspace, Map.of(), List.of("bash", "-c", script));
    assertEquals(0, r.exitCode(), r::describe);
    assertEquals(settings, Files.readString(workspace.resolve("build/push-relay.tfvars")));
    assertEquals("relay-deployer@p.iam.gserviceaccount.com\n", Files.readString(workspace.resolve("build/smoke/deployer")));
  }

  @Test
  void aMissingSettingsFileStopsTheBuild() throws IOException {
    stops("missing", "ERROR: (gcloud.storage.cp) The following URLs matched no objects or files:\n-" + OBJECT);
  }

  @Test
  void anUnreadableSettingsFileStopsTheBuild() throws IOException {
    stops("refused", "ERROR: (gcloud.storage.cp) [relay-deployer@p.iam.gserviceaccount.com] does not have permission "
        + "to access b instance [" + BUCKET + "] (or it may not exist): storage.objects.get. 403");
  }

  private static void stops(String name, String error) throws IOException {
    Path workspace = Files.createTempDirectory(Repo.work("settings-step"), name + "-");
    // describe and cp fail alike, as they do when the object is missing or the deployer may not read it
    FakeGcloud gcloud = new FakeGcloud("settings-" + name, ACCOUNT + """
        "storage objects describe %1$s"* | "storage cp %1$s "*) printf '%%s\\n' %2$s >&2; exit 1 ;;
        """.formatted(OBJECT, quoted(error)));
    Command.Result r = gcloud.run(workspace, Map.of(), List.of("bash", "-c", script));
    assertNotEquals(0, r.exitCode(), () -> "the build went on without its settings\n" + r.describe());
    assertTrue(r.stderr().contains(error), r::describe);
    assertTrue(r.stderr().contains(OBJECT) && r.stderr().contains("docs/DEPLOY.md"),
        () -> "the step says which file it needs and where to read about it\n" + r.describe());
  }

  /** A word bash reads back as exactly {@code text}. */
  private static String quoted(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
  }
}
