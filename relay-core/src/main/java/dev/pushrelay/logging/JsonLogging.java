package dev.pushrelay.logging;

import org.slf4j.bridge.SLF4JBridgeHandler;

/** Routes java.util.logging (used by the Google clients) into the JSON log lines. */
public final class JsonLogging {
  private JsonLogging() {}

  public static synchronized void install() {
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
  }
}
