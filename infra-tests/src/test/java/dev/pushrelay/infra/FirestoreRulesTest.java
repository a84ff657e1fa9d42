package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.infra.TerraformConfig.Block;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Client SDKs cannot touch the relay's Firestore data: the released ruleset allows nothing, to anyone,
 * anywhere in the database, and it is the one released for Firestore. (The relay's own accounts go
 * through IAM, which rules do not apply to.)
 */
class FirestoreRulesTest {
  @Test
  void theReleasedRulesDenyEveryClientReadAndWrite() throws IOException {
    String rules = Files.readString(Repo.root().resolve("terraform/firestore.rules"));
    List<String> allows = rules.lines().map(String::trim).filter(l -> l.startsWith("allow")).toList();
    assertEquals(List.of("allow read, write: if false;"), allows, "one rule, and it allows nothing");
    assertTrue(rules.contains("match /databases/{database}/documents") && rules.contains("match /{document=**}"),
        "it covers every document of every collection");

    TerraformConfig tf = TerraformConfig.load();
    Block ruleset = tf.resource("google_firebaserules_ruleset", "firestore").orElseThrow();
    assertEquals("${file(\"${path.module}/firestore.rules\")}", ruleset.text("source", "files", "content"));
    Block release = tf.resource("google_firebaserules_release", "firestore").orElseThrow();
    assertEquals("cloud.firestore", release.text("name"), "the release Firestore reads its rules from");
    assertTrue(release.text("ruleset_name").contains("${google_firebaserules_ruleset.firestore.name}"));
    String apis = Files.readString(Repo.root().resolve("terraform/apis.tf"));
    assertTrue(apis.contains("\"firebaserules.googleapis.com\""), "the Security Rules API is enabled");
  }
}
