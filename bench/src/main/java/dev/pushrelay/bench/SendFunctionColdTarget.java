package dev.pushrelay.bench;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

/**
 * A fresh send function under the Functions Framework invoker, launched as scripts/run-local.sh does
 * (without its -XX:TieredStopAtLevel=1, which the cloud's buildpack does not set). Ready at the first
 * {@code 202} for a valid {@code POST /v1/messages}: the function builds its clients on the first
 * request, so that answer includes them and a publish the emulator accepted. The messages go to a user
 * whose socket the phase holds open, so none is left retrying.
 */
final class SendFunctionColdTarget implements ColdTarget {
  private final StackClient stack;
  private final String invokerJar;
  private final String classpath;
  private final int port;
  private final String user;

  SendFunctionColdTarget(StackClient stack, String invokerJar, String classpath, int port, String user) {
    this.stack = stack;
    this.invokerJar = invokerJar;
    this.classpath = ColdTarget.expand(classpath);
    this.port = port;
    this.user = user;
  }

  @Override
  public String name() {
    return "send";
  }

  @Override
  public String readiness() {
    return "send function: process start to the first `202` for a valid `POST /v1/messages` (invoker up, "
        + "function loaded, Pub/Sub publisher built, message accepted by the emulator)";
  }

  @Override
  public List<String> arguments() {
    return List.of("-jar", invokerJar, "--classpath", classpath, "--target",
        "dev.pushrelay.functions.send.SendFunction", "--port", Integer.toString(port));
  }

  @Override
  public Map<String, String> environment(String tag) {
    return Map.of();
  }

  @Override
  public long awaitReady(Process process, long deadlineNanos) throws Exception {
    String url = "http://127.0.0.1:" + port;
    java.util.concurrent.atomic.AtomicInteger attempt = new java.util.concurrent.atomic.AtomicInteger();
    return ColdTarget.pollUntil(process, deadlineNanos, 202, () -> stack.http().send(StackClient.sendRequest(url,
        user, "cold-" + process.pid() + "-" + attempt.getAndIncrement()), HttpResponse.BodyHandlers.discarding())
        .statusCode(), "send function gave no 202");
  }

  /** A few more sends, as the first seconds of a real instance. */
  @Override
  public void exercise(String tag) throws Exception {
    String url = "http://127.0.0.1:" + port;
    for (int i = 0; i < 5; i++) {
      int status = stack.http().send(StackClient.sendRequest(url, user, "cold-" + tag + "-" + i),
          HttpResponse.BodyHandlers.discarding()).statusCode();
      if (status != 202) {
        throw new IllegalStateException("training send answered " + status);
      }
    }
  }
}
