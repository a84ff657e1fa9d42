package dev.pushrelay.node.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Named checks that must all pass for the node to take sockets. */
public final class Readiness {
  private final Map<String, BooleanSupplier> checks = new LinkedHashMap<>();

  public Readiness check(String name, BooleanSupplier passes) {
    checks.put(name, passes);
    return this;
  }

  /** Each check's result, in the order they were added. */
  public Map<String, Boolean> evaluate() {
    Map<String, Boolean> out = new LinkedHashMap<>();
    checks.forEach((name, check) -> out.put(name, check.getAsBoolean()));
    return out;
  }
}
