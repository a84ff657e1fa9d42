package dev.pushrelay.gcp;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.FailedPreconditionException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.firestore.FirestoreException;
import io.grpc.Status;

/** Firestore's conditional writes: whether a write failed because its document changed or went meanwhile. */
public final class Preconditions {
  private Preconditions() {}

  /** True when the write lost its condition (FAILED_PRECONDITION) or its document (NOT_FOUND). */
  public static boolean lost(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof FailedPreconditionException || t instanceof NotFoundException) {
        return true;
      }
      if (t instanceof FirestoreException f && f.getStatus() != null
          && (f.getStatus().getCode() == Status.Code.FAILED_PRECONDITION
              || f.getStatus().getCode() == Status.Code.NOT_FOUND)) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when a query failed for want of its composite index (FAILED_PRECONDITION): one that a release's
   * Terraform has not built yet, or is still building.
   */
  public static boolean indexMissing(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof FailedPreconditionException || t instanceof FirestoreException f && f.getStatus() != null
          && f.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
        return true;
      }
    }
    return false;
  }

  /** True when a create failed because its document exists (ALREADY_EXISTS), as one call or in a batch. */
  public static boolean exists(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof AlreadyExistsException || t instanceof FirestoreException f && f.getStatus() != null
          && f.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
        return true;
      }
    }
    return false;
  }
}
