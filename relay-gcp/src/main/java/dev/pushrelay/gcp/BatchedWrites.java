package dev.pushrelay.gcp;

import com.google.cloud.firestore.BulkWriter;
import com.google.cloud.firestore.BulkWriterOptions;
import com.google.cloud.firestore.DocumentReference;
import com.google.cloud.firestore.Firestore;
import com.google.cloud.firestore.Precondition;
import com.google.cloud.firestore.WriteResult;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Many single-document writes sent together: Firestore's BatchWrite call carries 20 at a time, and each
 * write still succeeds or fails on its own (unlike a batch commit, which is all or nothing). On the
 * emulator, 500 conditional updates take about 0.1-0.2 s this way and 0.7-1.9 s as 500 calls of their own.
 * Add the writes, then {@link #send()}.
 */
public final class BatchedWrites {
  /**
   * The writers' threads, on which their writes' outcomes arrive (and what callers chain onto them
   * runs); shared by every writer, never shut down.
   */
  private static final ScheduledExecutorService TIMER = Executors.newScheduledThreadPool(2, r -> {
    Thread t = new Thread(r, "firestore-batches");
    t.setDaemon(true);
    return t;
  });
  /**
   * The writer's own pace, far above what one look or one settlement writes (a look claims at most 500):
   * the writes are bounded by their caller. Throttling stays on: with it off, this client library sends
   * the same 500 updates in about 1.1 s instead of 0.15 s on the emulator.
   */
  private static final int OPS_PER_SECOND = 10_000;
  private final BulkWriter writer;

  public BatchedWrites(Firestore db) {
    this.writer = db.bulkWriter(BulkWriterOptions.builder().setInitialOpsPerSecond(OPS_PER_SECOND)
        .setMaxOpsPerSecond(OPS_PER_SECOND).setExecutor(TIMER).build());
    // a write that failed fails its future at once: the writer would try it 10 more times, for minutes
    // when Firestore is overloaded, long after its caller gave up (the caller's next look retries)
    writer.addWriteErrorListener(error -> false);
  }

  /** An update of {@code ref} that holds only if the document is as the precondition says. */
  public CompletableFuture<WriteResult> update(DocumentReference ref, Map<String, Object> fields,
      Precondition precondition) {
    return Completions.of(writer.update(ref, fields, precondition));
  }

  /** A new document (ALREADY_EXISTS when there is one). */
  public CompletableFuture<WriteResult> create(DocumentReference ref, Map<String, Object> fields) {
    return Completions.of(writer.create(ref, fields));
  }

  /** An update of an existing document (NOT_FOUND when it is gone). */
  public CompletableFuture<WriteResult> update(DocumentReference ref, Map<String, Object> fields) {
    return Completions.of(writer.update(ref, fields));
  }

  /** Sends every write added so far; each write's future then completes with its own outcome. */
  public void send() {
    writer.flush();
  }
}
