package dev.pushrelay.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Phase 6: process start to ready, for a socket node and for the send function, on each JDK, with the
 * JDK's default CDS only and with an archive of the application's classes built here from a training
 * run (AppCDS; on JDK 25 also the AOT cache). Runs are interleaved (run i of every variant before run
 * i + 1 of any), so slow drift of the machine spreads over all variants alike.
 *
 * <p>Settings: COLD_RUNS (10), COLD_JAVAS (name=path/to/java,…), COLD_VARIANTS (none,appcds,aot),
 * COLD_TARGETS (node,send), COLD_PORT, COLD_SEND_PORT, COLD_CPUS (cores for the started process, e.g. 1;
 * empty: not pinned), NODE_CP, FUNCTIONS_CP, INVOKER_JAR.
 */
final class ColdStartPhase {
  private final StackClient stack;
  private final BenchContext ctx;

  ColdStartPhase(StackClient stack) {
    this.stack = stack;
    this.ctx = stack.context();
  }

  /** Everything measured for one target and variant. */
  private static final class Series {
    final List<Double> ms = new ArrayList<>();
    Path archive;
    long[] classes;
    double trainingMs;
  }

  String run() throws Exception {
    int runs = BenchContext.envInt("COLD_RUNS", 10);
    String cpus = BenchContext.env("COLD_CPUS", "");
    Path dir = ctx.out().resolve("coldstart");
    Path logs = dir.resolve("logs");
    Files.createDirectories(logs);

    List<JvmVariant> variants = variants();
    String absorbUser = "bench-cold-send-" + ctx.runId();
    List<ColdTarget> targets = targets(absorbUser);
    Map<String, Series> series = new LinkedHashMap<>();

    // The send function's 202s are routed to this socket, so none of them is left retrying.
    try (BenchSocket absorb = stack.socket(ctx.node1Url(), absorbUser, (f, t) -> { })) {
      absorb.awaitEstablished();
      for (ColdTarget target : targets) {
        for (JvmVariant v : variants) {
          Series s = new Series();
          series.put(key(target, v), s);
          if (v.feature() != JvmVariant.Archive.NONE) {
            s.archive = dir.resolve(target.name() + "-" + v.name() + "." + v.feature().extension);
            Files.deleteIfExists(s.archive);
            String tag = tag("train", target, v);
            s.trainingMs = ColdProcess.run(target, v, v.trainingFlags(s.archive), tag, logs.resolve(tag + ".log"),
                cpus, true, 120);
            if (!Files.isRegularFile(s.archive)) {
              throw new IllegalStateException("training run left no archive " + s.archive + "; see "
                  + logs.resolve(tag + ".log"));
            }
            System.err.printf("cold start: %s %s archive %d KB (training run ready in %.0f ms)%n", target.name(),
                v.name(), Files.size(s.archive) / 1024, s.trainingMs);
          }
          // One untimed start that logs where each class came from: proves the archive is really used.
          String tag = tag("classes", target, v);
          Path classLog = logs.resolve(tag + ".classes");
          List<String> flags = new ArrayList<>(v.runFlags(s.archive));
          flags.add("-Xlog:class+load=info:file=" + classLog);
          ColdProcess.timeToReady(target, v, flags, tag, logs.resolve(tag + ".log"), cpus);
          s.classes = ColdProcess.classCounts(classLog);
        }
      }
      for (int i = 0; i < runs; i++) {
        for (ColdTarget target : targets) {
          for (JvmVariant v : variants) {
            Series s = series.get(key(target, v));
            String tag = tag("run" + i, target, v);
            double ms = ColdProcess.timeToReady(target, v, v.runFlags(s.archive), tag, logs.resolve(tag + ".log"),
                cpus);
            s.ms.add(ms);
            System.err.printf(Locale.ROOT, "cold start %s %s run %d: %.0f ms%n", target.name(), v.name(), i, ms);
          }
        }
      }
    }
    return report(targets, variants, series, runs, cpus);
  }

  private String report(List<ColdTarget> targets, List<JvmVariant> variants, Map<String, Series> series, int runs,
      String cpus) {
    StringBuilder md = new StringBuilder("### Phase 6 — cold start\n\n");
    for (ColdTarget t : targets) {
      md.append("- ").append(t.readiness()).append('\n');
    }
    md.append(String.format(Locale.ROOT, "%nAgainst the running emulators; each start a fresh process with a new "
            + "id, stopped with SIGTERM and waited for before the next. %d timed runs per variant, interleaved "
            + "across variants, after one untimed start per variant that logs where each class came from "
            + "(`-Xlog:class+load`). Archives are built here, first, by one training run per variant (start, "
            + "ready, a socket and a routed message on the node or five more sends on the function, SIGTERM; the "
            + "archive is written at exit): AppCDS with `-XX:ArchiveClassesAtExit` then `-XX:SharedArchiveFile`, "
            + "the AOT cache (JDK 25) with `-XX:AOTCacheOutput` then `-XX:AOTCache`. The node runs with the image's "
            + "JVM flags (`socket-node/src/main/jib/app/jvm.args`, less what JDK 17 does not know) and "
            + "`-XX:MaxRAM=%s` (the Cloud Run instance's memory); the send function as `scripts/run-local.sh` starts "
            + "it, without its `-XX:TieredStopAtLevel=1`. %s Milliseconds, median (min–max).%n%n",
        runs, NodeColdTarget.INSTANCE_MEMORY, cpus.isBlank() ? "Nothing pinned: the started process shares both cores with the stack."
            : "The started process is pinned to core " + cpus + " alone (`taskset`; the JVM then sizes itself for "
                + "one CPU, as on a 1-vCPU Cloud Run instance) while the stack and the bench are on the other core."));
    md.append("| process | JVM | archive | median ms (min–max) | ÷ java17 default | classes from an archive "
        + "| archive size | runs |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (ColdTarget t : targets) {
      Series base = series.get(key(t, variants.get(0)));
      for (JvmVariant v : variants) {
        Series s = series.get(key(t, v));
        String size = s.archive == null ? "" : String.format(Locale.ROOT, "%.1f MB", sizeMb(s.archive));
        md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %d of %d (%.0f %%) | %s | %s |%n",
            t.name(), v.jvm() + " (" + v.major() + ")", v.feature().label, Stats.medianSpread(s.ms, 0),
            Stats.fmt(Stats.median(s.ms) / Stats.median(base.ms), 2), s.classes[1], s.classes[0],
            100.0 * s.classes[1] / Math.max(1, s.classes[0]), size,
            s.ms.stream().map(x -> Stats.fmt(x, 0)).toList()));
      }
    }
    md.append("\nGoal: a socket node ready in under 2 s on this machine.\n\n");
    return md.toString();
  }

  private List<JvmVariant> variants() throws Exception {
    List<JvmVariant> out = new ArrayList<>();
    List<String> features = List.of(BenchContext.env("COLD_VARIANTS", "none,appcds,aot").split(","));
    for (String spec : BenchContext.env("COLD_JAVAS", "java17=java").split(",")) {
      String[] kv = spec.split("=", 2);
      Path java = resolve(kv[1]);
      int major = JvmVariant.majorVersion(java);
      for (String f : features) {
        JvmVariant.Archive feature = switch (f.trim()) {
          case "none" -> JvmVariant.Archive.NONE;
          case "appcds" -> JvmVariant.Archive.APP_CDS;
          case "aot" -> JvmVariant.Archive.AOT_CACHE;
          default -> throw new IllegalArgumentException("COLD_VARIANTS: unknown " + f);
        };
        JvmVariant v = new JvmVariant(kv[0], java, major, feature);
        if (v.supported()) {
          out.add(v);
        }
      }
    }
    return out;
  }

  private List<ColdTarget> targets(String absorbUser) throws java.io.IOException {
    List<ColdTarget> out = new ArrayList<>();
    for (String t : BenchContext.env("COLD_TARGETS", "node,send").split(",")) {
      switch (t.trim()) {
        case "node" -> out.add(new NodeColdTarget(stack, required("NODE_CP"), BenchContext.envInt("COLD_PORT", 18099),
            Path.of(BenchContext.env("NODE_JVM_ARGS", "socket-node/src/main/jib/app/jvm.args"))));
        case "send" -> out.add(new SendFunctionColdTarget(stack, required("INVOKER_JAR"), required("FUNCTIONS_CP"),
            BenchContext.envInt("COLD_SEND_PORT", 18098), absorbUser));
        default -> throw new IllegalArgumentException("COLD_TARGETS: unknown " + t);
      }
    }
    return out;
  }

  /** A node id too, so at most 40 of [a-z0-9-]: "cold-n-java25a-run9-<run id>". */
  private String tag(String what, ColdTarget t, JvmVariant v) {
    String feature = switch (v.feature()) {
      case NONE -> "d";
      case APP_CDS -> "c";
      case AOT_CACHE -> "a";
    };
    return ("cold-" + t.name().charAt(0) + "-" + v.jvm() + feature + "-" + what + "-" + ctx.runId())
        .toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "");
  }

  private static String key(ColdTarget t, JvmVariant v) {
    return t.name() + "/" + v.name();
  }

  private static double sizeMb(Path p) {
    try {
      return Files.size(p) / 1048576.0;
    } catch (java.io.IOException e) {
      return Double.NaN;
    }
  }

  private static Path resolve(String java) {
    Path p = Path.of(java);
    if (p.isAbsolute()) {
      return p;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir, java);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalArgumentException("no " + java + " on the PATH");
  }

  private static String required(String name) {
    String v = BenchContext.env(name, "");
    if (v.isEmpty()) {
      throw new IllegalStateException(name + " is not set");
    }
    return v;
  }
}
