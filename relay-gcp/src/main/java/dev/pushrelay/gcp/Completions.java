package dev.pushrelay.gcp;

import com.google.api.core.ApiFuture;
import com.google.api.core.ApiFutureCallback;
import com.google.api.core.ApiFutures;
import com.google.common.util.concurrent.MoreExecutors;
import java.util.concurrent.CompletableFuture;

/** Turns the Google client's futures into {@link CompletableFuture}s. */
public final class Completions {
  private Completions() {}

  /** Whether {@code error}, or anything that caused it, is a {@code type} (a client's error under its wrappers). */
  public static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  public static <T> CompletableFuture<T> of(ApiFuture<T> future) {
    CompletableFuture<T> out = new CompletableFuture<>();
    ApiFutures.addCallback(future, new ApiFutureCallback<T>() {
      @Override
      public void onFailure(Throwable t) {
        out.completeExceptionally(t);
      }

      @Override
      public void onSuccess(T result) {
        out.complete(result);
      }
    }, MoreExecutors.directExecutor());
    return out;
  }
}
