package dev.pushrelay.e2e;

/**
 * A call that may throw, made inside a condition that may not. What the call throws goes on, unchecked,
 * so the wait fails at once as it did before.
 */
final class Unchecked {
  /** A call that may throw. */
  interface Call<T> {
    T call() throws Exception;
  }

  private Unchecked() {}

  /** The call's answer. A checked exception goes on as the cause of an unchecked one; an interrupt is kept. */
  static <T> T get(Call<T> call) {
    try {
      return call.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
