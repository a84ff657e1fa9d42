package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.firestore.v1.CommitRequest;
import com.google.firestore.v1.Document;
import com.google.firestore.v1.Precondition;
import com.google.firestore.v1.Write;
import com.google.pubsub.v1.PublishRequest;
import com.google.pubsub.v1.Subscription;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CallLedgerTest {
  private static final String DOC = "projects/p/databases/(default)/documents/connections/c1";

  @Test
  void eachDistinctCallIsWrittenOnceWithTheResourcesItsRequestNames(@TempDir Path dir) throws Exception {
    CallLedger ledger = CallLedger.fromEnvironment("send-function", Map.of(CallLedger.VARIABLE, dir.toString()));
    PublishRequest publish = PublishRequest.newBuilder().setTopic("projects/p/topics/relay-requests").build();
    ledger.record("google.pubsub.v1.Publisher/Publish", publish);
    ledger.record("google.pubsub.v1.Publisher/Publish", publish);
    ledger.record("google.pubsub.v1.Subscriber/CreateSubscription", Subscription.newBuilder()
        .setName("projects/p/subscriptions/s").setTopic("projects/p/topics/t").build());

    List<String> lines = Files.readAllLines(only(dir));
    assertEquals(List.of(
        "{\"method\":\"google.pubsub.v1.Publisher/Publish\","
            + "\"resources\":{\"topic\":\"projects/p/topics/relay-requests\"}}",
        "{\"method\":\"google.pubsub.v1.Subscriber/CreateSubscription\","
            + "\"resources\":{\"name\":\"projects/p/subscriptions/s\",\"topic\":\"projects/p/topics/t\"}}"),
        lines);
  }

  @Test
  void aFirestoreCommitIsWrittenOncePerKindOfWriteItMakes(@TempDir Path dir) throws Exception {
    CallLedger ledger = CallLedger.fromEnvironment("socket-node", Map.of(CallLedger.VARIABLE, dir.toString()));
    Document doc = Document.newBuilder().setName(DOC).build();
    ledger.record("google.firestore.v1.Firestore/Commit", CommitRequest.newBuilder()
        .setDatabase("projects/p/databases/(default)")
        .addWrites(Write.newBuilder().setUpdate(doc).setCurrentDocument(Precondition.newBuilder().setExists(false)))
        .addWrites(Write.newBuilder().setUpdate(doc).setCurrentDocument(Precondition.newBuilder().setExists(true)))
        .addWrites(Write.newBuilder().setUpdate(doc))
        .addWrites(Write.newBuilder().setDelete(DOC))
        .build());

    assertEquals(Set.of("create", "update", "set", "delete"), Files.readAllLines(only(dir)).stream()
        .map(l -> l.replaceAll(".*\"write\":\"([a-z]+)\".*", "$1")).collect(Collectors.toSet()));
  }

  @Test
  void offItWritesNothing() {
    assertFalse(CallLedger.fromEnvironment("socket-node", Map.of()).on());
  }

  private static Path only(Path dir) throws Exception {
    try (var files = Files.list(dir)) {
      List<Path> all = files.toList();
      assertEquals(1, all.size(), all::toString);
      assertTrue(all.get(0).getFileName().toString().matches("[a-z-]+-\\d+\\.jsonl"), all::toString);
      return all.get(0);
    }
  }
}
