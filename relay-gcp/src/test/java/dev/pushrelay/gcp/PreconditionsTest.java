package dev.pushrelay.gcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.api.gax.grpc.GrpcStatusCode;
import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.FailedPreconditionException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.api.gax.rpc.UnavailableException;
import io.grpc.Status;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Telling Firestore's refusals apart as the client library hands them over, wrapped. */
class PreconditionsTest {
  private static final RuntimeException INDEX = new RuntimeException(
      "FAILED_PRECONDITION: The query requires an index. You can create it here: https://console...");

  @Test
  void aQueryRefusedForWantOfItsIndexIsToldApartFromAnOutage() {
    Throwable missing = new FailedPreconditionException(INDEX, GrpcStatusCode.of(Status.Code.FAILED_PRECONDITION),
        false);
    assertTrue(Preconditions.indexMissing(new CompletionException(new ExecutionException(missing))));
    assertFalse(Preconditions.indexMissing(new CompletionException(new UnavailableException(
        new RuntimeException("UNAVAILABLE"), GrpcStatusCode.of(Status.Code.UNAVAILABLE), true))));
    assertFalse(Preconditions.indexMissing(new NotFoundException(new RuntimeException("NOT_FOUND"),
        GrpcStatusCode.of(Status.Code.NOT_FOUND), false)));
  }

  @Test
  void aWriteThatLostItsConditionOrItsDocumentIsToldApartFromAnExistingDocument() {
    Throwable changed = new FailedPreconditionException(new RuntimeException("FAILED_PRECONDITION"),
        GrpcStatusCode.of(Status.Code.FAILED_PRECONDITION), false);
    Throwable gone = new NotFoundException(new RuntimeException("NOT_FOUND"), GrpcStatusCode.of(Status.Code.NOT_FOUND),
        false);
    Throwable there = new AlreadyExistsException(new RuntimeException("ALREADY_EXISTS"),
        GrpcStatusCode.of(Status.Code.ALREADY_EXISTS), false);
    assertTrue(Preconditions.lost(new CompletionException(changed)));
    assertTrue(Preconditions.lost(new CompletionException(gone)));
    assertFalse(Preconditions.lost(there));
    assertTrue(Preconditions.exists(new CompletionException(there)));
    assertFalse(Preconditions.exists(gone));
  }
}
