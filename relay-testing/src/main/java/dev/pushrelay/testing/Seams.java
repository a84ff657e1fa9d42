package dev.pushrelay.testing;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A cloud seam's in-memory fake behind its interface, with chosen calls answered otherwise: a call that
 * fails as the cloud's would, a call counted, calls in another order. For unit tests only.
 */
public final class Seams {
  /** What {@link Around} answers to let the fake answer the call itself. */
  public static final Object PASS = new Object();

  private Seams() {}

  /** Answers a call instead of the fake, or {@link #PASS}; {@code self} is the seam the call came to. */
  @FunctionalInterface
  public interface Around {
    Object call(Object self, Method method, Object[] args) throws Throwable;
  }

  /** {@code real} as a {@code type}, each call first offered to {@code around}. */
  public static <T> T around(Class<T> type, T real, Around around) {
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, method, args) -> {
      Object instead = around.call(self, method, args);
      if (instead != PASS) {
        return instead;
      }
      try {
        return method.invoke(real, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    }));
  }
}
