package dev.pushrelay.bench;

import java.nio.file.Path;

/**
 * What every phase against the running stack needs: where the parts listen, where results go, and a
 * run id that keeps this run's users, topics and node ids apart from earlier runs'.
 */
record BenchContext(String sendUrl, String routeUrl, String node1Url, String node2Url, String project,
    String pubsubHost, String firestoreHost, Path out, String runId) {

  static BenchContext fromEnvironment() {
    return new BenchContext(
        env("SEND_URL", "http://127.0.0.1:8080"),
        env("ROUTE_URL", "http://127.0.0.1:8081"),
        env("NODE1_URL", "http://127.0.0.1:8090"),
        env("NODE2_URL", "http://127.0.0.1:8091"),
        env("GOOGLE_CLOUD_PROJECT", "relay-local"),
        env("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085"),
        env("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8086"),
        Path.of(env("BENCH_OUT", "bench/target/results")),
        Long.toString(System.currentTimeMillis(), 36));
  }

  static String env(String name, String dflt) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? dflt : v;
  }

  static int envInt(String name, int dflt) {
    return Integer.parseInt(env(name, Integer.toString(dflt)).trim());
  }

  static double envDouble(String name, double dflt) {
    return Double.parseDouble(env(name, Double.toString(dflt)).trim());
  }
}
