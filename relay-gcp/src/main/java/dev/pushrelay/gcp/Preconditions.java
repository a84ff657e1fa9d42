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
    return causedBy(error, FailedPreconditionException.class, Status.Code.FAILED_PRECONDITION)
        || causedBy(error, NotFoundException.class, Status.Code.NOT_FOUND);
  }

  /**
   * True when a query failed for want of its composite index (FAILED_PRECONDITION): one that a release's
   * Terraform has not built yet, or is still building.
   */
  public static boolean indexMissing(Throwable error) {
    return causedBy(error, FailedPreconditionException.class, Status.Code.FAILED_PRECONDITION);
  }

  /** True when a create failed because its document exists (ALREADY_EXISTS), as one call or in a batch. */
  public static boolean exists(Throwable error) {
    return causedBy(error, AlreadyExistsException.class, Status.Code.ALREADY_EXISTS);
  }

  /**
   * Whether {@code error} or a cause of it is the client's exception of that status: the call's own
   * ({@code gax}), or a batch's write result ({@link FirestoreException}).
   */
  private static boolean causedBy(Throwable error, Class<? extends Throwable> gax, Status.Code code) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (gax.isInstance(t) || t instanceof FirestoreException f && f.getStatus() != null
          && f.getStatus().getCode() == code) {
        return true;
      }
    }
    return false;
  }
}
