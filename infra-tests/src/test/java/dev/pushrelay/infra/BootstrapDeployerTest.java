package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * scripts/deploy/bootstrap-deployer.sh against a fake gcloud: a grant made while IAM does not see the
 * new account yet is tried again until it takes, and one that keeps failing stops the script with
 * gcloud's error instead of going by unnoticed.
 */
class BootstrapDeployerTest {
  private static final String DEPLOYER = "relay-deployer@p.iam.gserviceaccount.com";
  private static final Pattern PROJECT_ROLE = Pattern.compile("^gcloud projects add-iam-policy-binding p "
      + "--member=serviceAccount:" + Pattern.quote(DEPLOYER) + " --role=(roles/[A-Za-z.]+) --condition=None --quiet$");
  /** The account exists only once created, and is seen by describe at the second look after that. */
  private static final String NEW_ACCOUNT = """
      "iam service-accounts describe"*)
        if [ "$(calls 'service-accounts create')" -eq 0 ] || [ "$(calls 'service-accounts describe')" -le 2 ]; then
          echo "ERROR: (gcloud.iam.service-accounts.describe) NOT_FOUND: Unknown service account" >&2; exit 1
        fi ;;
      """;

  @Test
  void grantsEveryRoleOnceIamSeesTheNewAccount() throws IOException {
    FakeGcloud gcloud = new FakeGcloud("new-account", NEW_ACCOUNT + """
        "projects add-iam-policy-binding"*)
          if [ "$(calls 'projects add-iam-policy-binding')" -le 2 ]; then
            echo "ERROR: (gcloud.projects.add-iam-policy-binding) INVALID_ARGUMENT: Service account %s does not exist." >&2
            exit 1
          fi ;;
        """.formatted(DEPLOYER));
    Command.Result r = run(gcloud);
    assertEquals(0, r.exitCode(), r::describe);
    List<String> calls = gcloud.calls();
    assertEquals(1, gcloud.calls("service-accounts create relay-deployer --project=p").size(), calls.toString());
    Set<String> granted = new TreeSet<>();
    for (String call : calls) {
      Matcher m = PROJECT_ROLE.matcher(call);
      if (m.matches()) {
        granted.add(m.group(1));
      }
    }
    assertEquals(DeployerRolesTest.scriptRoles(), granted, "project roles granted");
    assertEquals(DeployerRolesTest.scriptRoles().size() + 2, gcloud.calls("projects add-iam-policy-binding").size(),
        "the first grant is tried three times, the others once: " + calls);
    // waits: one for the account to show, two for the first grant, each longer than the one before
    assertEquals(List.of("sleep 2", "sleep 2", "sleep 4"), gcloud.calls("sleep "));
    List<String> onItself = gcloud.calls("iam service-accounts add-iam-policy-binding");
    assertEquals(List.of("gcloud iam service-accounts add-iam-policy-binding " + DEPLOYER + " --project=p --member=serviceAccount:"
        + DEPLOYER + " --role=roles/iam.serviceAccountOpenIdTokenCreator --quiet"), onItself);
    assertTrue(calls.indexOf(gcloud.calls("service-accounts create").get(0))
        < calls.indexOf(gcloud.calls("projects add-iam-policy-binding").get(0)), "the account is made before any grant");
  }

  @Test
  void aGrantThatKeepsFailingStopsTheScriptWithGcloudsError() throws IOException {
    FakeGcloud gcloud = new FakeGcloud("denied", """
        *"--role=roles/run.admin "*)
          echo "ERROR: (gcloud.projects.add-iam-policy-binding) PERMISSION_DENIED: Policy update access denied." >&2
          exit 1 ;;
        """);
    Command.Result r = run(gcloud);
    assertNotEquals(0, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("PERMISSION_DENIED: Policy update access denied."), r::describe);
    assertTrue(r.stderr().contains("roles/run.admin"), r::describe);
    assertEquals(7, gcloud.calls("--role=roles/run.admin ").size(), "tried seven times: " + gcloud.calls());
    assertEquals(List.of("sleep 2", "sleep 4", "sleep 8", "sleep 16", "sleep 32", "sleep 64"), gcloud.calls("sleep "));
    // nothing after it (secretmanager.admin comes next in the list): the script stopped there
    assertTrue(gcloud.calls("--role=roles/secretmanager.admin ").isEmpty(), gcloud.calls().toString());
    assertTrue(gcloud.calls("roles/iam.serviceAccountOpenIdTokenCreator").isEmpty(), gcloud.calls().toString());
  }

  @Test
  void anAccountThatExistsIsKept() throws IOException {
    FakeGcloud gcloud = new FakeGcloud("existing", "");
    Command.Result r = run(gcloud);
    assertEquals(0, r.exitCode(), r::describe);
    assertTrue(gcloud.calls("service-accounts create").isEmpty(), gcloud.calls().toString());
    assertTrue(gcloud.calls("sleep ").isEmpty(), gcloud.calls().toString());
    assertEquals(DeployerRolesTest.scriptRoles().size(), gcloud.calls("projects add-iam-policy-binding").size());
  }

  @Test
  void withoutAProjectNothingIsCalled() {
    FakeGcloud gcloud = new FakeGcloud("no-project", "");
    Command.Result r = gcloud.run(Repo.root(), Map.of(), List.of("env", "-u", "PROJECT_ID", "bash", script().toString()));
    assertNotEquals(0, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("PROJECT_ID"), r::describe);
    assertEquals(List.of(), gcloud.calls());
  }

  private static Command.Result run(FakeGcloud gcloud) {
    return gcloud.run(Repo.root(), Map.of("PROJECT_ID", "p"), List.of("bash", script().toString()));
  }

  private static Path script() {
    return Repo.root().resolve(DeployerRolesTest.SCRIPT);
  }
}
