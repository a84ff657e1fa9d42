#!/usr/bin/env bash
# Benchmark suite (issue 7). Builds what it needs, starts its own local stack with scripts/run-local.sh
# on separate ports, runs the phases against 127.0.0.1 only (bounded in count and time), stops exactly
# the processes it started and writes docs/BENCHMARKS.md.
#
#   scripts/bench.sh                 # every phase, in the fixed order below
#   scripts/bench.sh e2e cost        # only some of them (docs/BENCHMARKS.md keeps the others' last results)
#   scripts/bench.sh docs            # no phase: only write docs/BENCHMARKS.md again from the last results
#
# Order, whatever the command line says: cost first, on a quiet stack (later phases leave router copies
# retrying for minutes); then phases 1-3 (ceiling, idle, fanout: fanout writes the maximum that e2e
# takes its rates from); e2e; pending; coldstart last (it starts ~100 JVMs); jmh with the stack stopped.
#
# Knobs (environment), with their defaults:
#   build and stack   BENCH_SKIP_BUILD=1 (reuse the last build), BENCH_BASE_PORT (18180), BENCH_WAIT_SECONDS (900),
#                     BENCH_RESULTS (bench/target/results), BENCH_STACK_LOGS (bench/target/stack-logs),
#                     BENCH_DOCS=0 (leave docs/BENCHMARKS.md alone: results only in BENCH_RESULTS)
#   phases 1-3        SERVER_CPUS (1) / CLIENT_CPUS (0): taskset of the server under test / the load generator;
#                     SOCKET_NODE_JAVA ($JAVA25 if present, else java) and SOCKET_NODE_JVM_ARGS (the image's jvm.args
#                     with Java 25, else none): our node as deployed; the peers come from bench/peers (npm ci)
#   ceiling (phase 1) CEILING_CLIENTS (64), CEILING_SECONDS (5), CEILING_WARM_SECONDS (3), CEILING_RUNS (3)
#   idle (phase 2)    IDLE_LEVELS (1000,5000,10000), IDLE_RUNS (3), IDLE_CONNECT_CONCURRENCY (32),
#                     IDLE_SERVERS (relay,relay-browser,ws,socketio; relay-browser: our node, the client offering permessage-deflate)
#   flood (phase 2b)  FLOOD_HANDSHAKES (100000), FLOOD_CONCURRENCY (16), FLOOD_HEADER_BYTES (8000): unauthenticated
#                     handshakes against our node alone, its heap after a full GC before and after
#   fanout (phase 3)  FANOUT_SOCKETS (1000), FANOUT_RATES (200,400,700,1000,1500,2000,3000,4000,6000,8000),
#                     FANOUT_STEP_SECONDS (5), FANOUT_DRAIN_SECONDS (5), FANOUT_WARM_SECONDS (30), FANOUT_WARM_RATE
#                     (the second rate), FANOUT_RUNS (3), FANOUT_P99_LIMIT_MS (100), FANOUT_RETRY (1),
#                     FANOUT_SERVERS (relay,ws,socketio), FANOUT_EMULATOR_HEAP (1g: its own Pub/Sub emulator's -Xmx),
#                     FANOUT_PEERS_ORDERED (1: the peers' subscriptions ordered by user as ours is; 0: unordered)
#   cost (phase 7)    COST_REPEATS (3), COST_MESSAGES (100), COST_PENDING_MESSAGES (50), COST_RATE (20),
#                     COST_SETTLE_SECONDS (10), COST_BACKGROUND_SECONDS (10)
#   e2e (phase 4)     E2E_FRACTIONS (0.05,0.1,0.5 of relay.maxRatePerSecond in $OUT/fanout.json), E2E_RATES (50,200:
#                     used when fanout.json has no maximum), E2E_MAX_RATE (500), E2E_SECONDS (15),
#                     E2E_REPEATS (3), E2E_WARMUP_SECONDS (20), E2E_FLOOR_RATE (10)
#   pending (phase 5) PENDING_REPEATS (3), PENDING_SAMPLES (20)
#   coldstart (6)     COLD_RUNS (10), COLD_VARIANTS (none,appcds,aot), COLD_TARGETS (node,send), JAVA25 (path to
#                     a JDK 25 `java`), COLD_CPUS (1: the started process alone on that core, the stack and the
#                     bench moved to the others for the phase; empty: nothing pinned)
#   jmh               JMH_FORKS (1), JMH_WARMUP (3), JMH_ITERATIONS (5)
#
# The whole script is one { … } block: bash reads it completely before running it, so editing this file
# while a run is under way does not change (or break) that run.
{
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PHASES=("$@")
((${#PHASES[@]})) || PHASES=(cost ceiling idle flood fanout e2e pending coldstart jmh)
OUT="${BENCH_RESULTS:-$ROOT/bench/target/results}"
LOG_DIR="${BENCH_STACK_LOGS:-$ROOT/bench/target/stack-logs}"
BASE="${BENCH_BASE_PORT:-18180}"
JAVA25="${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
mkdir -p "$OUT" "$LOG_DIR"

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# 2 cores: never measure (or build) while another Maven build runs on this machine.
wait_for_quiet() {
  local deadline=$((SECONDS + ${BENCH_WAIT_SECONDS:-900}))
  while pgrep -f 'org.codehaus.plexus.classworlds.launcher.Launcher' >/dev/null; do
    ((SECONDS > deadline)) && { log "another Maven build is still running; giving up"; exit 1; }
    log "another Maven build is running; waiting"
    sleep 10
  done
}
wait_for_quiet

if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
  log "building (mvn install at the root, then bench/)"
  mvn -B -q -DskipTests install
  mvn -B -q -f bench/pom.xml -DskipTests package
fi
# The bench's own JVMs and the processes it starts run from a copy of the jars, so a build on this shared
# tree during a run (bench/, socket-node/, functions/) neither breaks a running phase nor invalidates the
# class archives of the cold-start phase half way. (The stack, started by run-local.sh, runs from target/.)
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/bench-run.XXXXXX")"
snapshot() { # snapshot NAME JAR LIBDIR: copies both, prints the class path
  mkdir -p "$RUN_DIR/$1/lib"
  cp "$2" "$RUN_DIR/$1/"
  cp "$3"/*.jar "$RUN_DIR/$1/lib/"
  echo "$RUN_DIR/$1/$(basename "$2"):$RUN_DIR/$1/lib/*"
}
BENCH_CP="$(snapshot bench "$(ls "$ROOT"/bench/target/bench-*.jar | head -1)" "$ROOT/bench/target/lib")"
NODE_CP="$(snapshot node "$(ls "$ROOT"/socket-node/target/socket-node-*.jar | head -1)" "$ROOT/socket-node/target/lib")"
FUNCTIONS_CP="$(snapshot functions "$(ls "$ROOT"/functions/target/functions-*.jar | head -1)" "$ROOT/functions/target/lib")"
cp "$ROOT/functions/target/invoker/java-function-invoker.jar" "$RUN_DIR/"
INVOKER_JAR="$RUN_DIR/java-function-invoker.jar"

STACK_PID=""
stop_stack() {
  if [[ -n "$STACK_PID" ]] && kill -0 "$STACK_PID" 2>/dev/null; then
    log "stopping the stack (pid $STACK_PID)"
    kill -TERM "$STACK_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$STACK_PID" 2>/dev/null && kill -KILL -- "-$STACK_PID" 2>/dev/null || true
  fi
  STACK_PID=""
}
trap 'stop_stack; rm -rf "$RUN_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for_quiet
needs_stack=0
for p in "${PHASES[@]}"; do [[ "$p" != jmh && "$p" != docs ]] && needs_stack=1; done

export PUBSUB_PORT=$((BASE + 5)) FIRESTORE_PORT=$((BASE + 6)) SEND_PORT=$((BASE + 0)) ROUTE_PORT=$((BASE + 1)) \
  NODE1_PORT=$((BASE + 10)) NODE2_PORT=$((BASE + 11)) RELAY_LOG_DIR="$LOG_DIR"
export GOOGLE_CLOUD_PROJECT="${GOOGLE_CLOUD_PROJECT:-relay-local}"
# A secret of this run's own: the socket nodes of phases 2 and 3 run as deployed (not in local mode),
# and a node outside local mode refuses the published dev secret.
export RELAY_JWT_SECRET="${RELAY_JWT_SECRET:-bench-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')}"

start_stack() {
  log "starting the stack on ports $BASE+ (logs $LOG_DIR)"
  setsid "$ROOT/scripts/run-local.sh" >"$LOG_DIR/run-local.out" 2>&1 &
  STACK_PID=$!
  for _ in $(seq 1 1200); do
    grep -q '^relay ready:' "$LOG_DIR/run-local.out" 2>/dev/null && break
    kill -0 "$STACK_PID" 2>/dev/null || { log "the stack exited; see $LOG_DIR"; exit 1; }
    sleep 0.1
  done
  grep -q '^relay ready:' "$LOG_DIR/run-local.out" || { log "the stack was not ready in 120 s"; exit 1; }
  log "stack ready"
}
((needs_stack)) && start_stack
# Phases 2 and 3 register tens of thousands of connections in the stack's Firestore emulator, which then
# slows to transaction lock timeouts: the phases after them get a fresh stack (fresh emulators).
STACK_USED_BY_SOCKETS=0

# Pinning: every process of the stack (run-local.sh writes their pids) to CPUS, all threads.
pin_stack() {
  local f
  for f in "$LOG_DIR"/*.pid; do
    taskset -a -c -p "$1" "$(cat "$f")" >/dev/null 2>&1 || true
  done
}
ALL_CPUS="0-$(($(nproc) - 1))"
# The cores not in COLD_CPUS (a single core or a comma list), for everything else during coldstart.
other_cpus() {
  local c out=""
  for ((c = 0; c < $(nproc); c++)); do
    [[ ",$1," == *",$c,"* ]] || out+="${out:+,}$c"
  done
  echo "${out:-$ALL_CPUS}"
}

# run_relay_bench PHASE [taskset CPUS]: one phase of RelayBench in a JVM of its own.
run_relay_bench() {
  local phase="$1" cpus="${2:-}" pin=()
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  log "phase $phase"
  SEND_URL="http://127.0.0.1:$SEND_PORT" ROUTE_URL="http://127.0.0.1:$ROUTE_PORT" \
    NODE1_URL="http://127.0.0.1:$NODE1_PORT" NODE2_URL="http://127.0.0.1:$NODE2_PORT" \
    PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
    BENCH_OUT="$OUT" NODE_CP="$NODE_CP" FUNCTIONS_CP="$FUNCTIONS_CP" INVOKER_JAR="$INVOKER_JAR" \
    NODE_JVM_ARGS="$ROOT/socket-node/src/main/jib/app/jvm.args" \
    COLD_JAVAS="$COLD_JAVAS" COLD_PORT=$((BASE + 19)) COLD_SEND_PORT=$((BASE + 18)) \
    "${pin[@]}" java -cp "$BENCH_CP" dev.pushrelay.bench.RelayBench "$phase" 2>"$OUT/$phase.log" >/dev/null \
    || { log "phase $phase failed; see $OUT/$phase.log"; exit 1; }
}

# run_socket_bench PHASE: phases 1-3 (SocketBench) against the npm peers; it pins itself to CLIENT_CPUS and
# the server under test to SERVER_CPUS.
PEERS_READY=0
run_socket_bench() {
  local phase="$1" node_java="${SOCKET_NODE_JAVA:-}" node_args="${SOCKET_NODE_JVM_ARGS:-}"
  if ((!PEERS_READY)); then
    log "installing the peers (npm ci in bench/peers)"
    (cd "$ROOT/bench/peers" && npm ci --no-audit --no-fund >"$OUT/npm.log" 2>&1) \
      || { log "npm ci failed; see $OUT/npm.log"; exit 1; }
    PEERS_READY=1
  fi
  if [[ -z "$node_java" ]]; then
    node_java="$(command -v java)"
    if [[ -x "$JAVA25" ]]; then
      node_java="$JAVA25"
      [[ -n "${SOCKET_NODE_JVM_ARGS+set}" ]] || node_args="$ROOT/socket-node/src/main/jib/app/jvm.args"
    fi
  fi
  # fanout runs Pub/Sub emulators of its own (see FanoutEmulator), from the same SDK as run-local.sh's
  local sdk_root="${CLOUDSDK_ROOT_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")}"
  log "phase $phase"
  PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
    PUBSUB_EMULATOR_JAR="$(ls "$sdk_root"/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar | head -1)" \
    BENCH_OUT="$OUT" NODE_CP="$NODE_CP" PEERS_DIR="$ROOT/bench/peers" SOCKET_BENCH_PORT=$((BASE + 20)) \
    SOCKET_NODE_JAVA="$node_java" SOCKET_NODE_JVM_ARGS="$node_args" \
    java -cp "$BENCH_CP" dev.pushrelay.bench.SocketBench "$phase" 2>"$OUT/$phase.log" >/dev/null \
    || { log "phase $phase failed; see $OUT/$phase.log"; exit 1; }
}

COLD_JAVAS="java17=$(command -v java)"
[[ -x "$JAVA25" ]] && COLD_JAVAS+=",java25=$JAVA25"
for p in "${PHASES[@]}"; do
  case "$p" in cost|ceiling|idle|flood|fanout|e2e|pending|coldstart|jmh|docs) ;; *) log "unknown phase $p"; exit 2 ;; esac
done
# The fixed order of the top; phases 1-3 (ceiling idle fanout) run between cost and e2e, which reads the
# maximum that fanout writes to $OUT/fanout.json.
for q in cost ceiling idle flood fanout e2e pending coldstart; do
  for p in "${PHASES[@]}"; do
    [[ "$p" == "$q" ]] || continue
    if ((STACK_USED_BY_SOCKETS)) && [[ "$p" != ceiling && "$p" != idle && "$p" != flood && "$p" != fanout ]]; then
      log "restarting the stack after phases 2-3"
      stop_stack
      start_stack
      STACK_USED_BY_SOCKETS=0
    fi
    case "$p" in
      coldstart)
        # The started JVM alone on COLD_CPUS (ColdStartPhase prefixes it with taskset); the stack and the
        # bench on the other cores for the phase, back on every core after it.
        COLD_CPUS="${COLD_CPUS-1}"
        if [[ -n "$COLD_CPUS" ]]; then
          pin_stack "$(other_cpus "$COLD_CPUS")"
          COLD_CPUS="$COLD_CPUS" run_relay_bench coldstart "$(other_cpus "$COLD_CPUS")"
          pin_stack "$ALL_CPUS"
        else
          COLD_CPUS="" run_relay_bench coldstart
        fi
        ;;
      ceiling) run_socket_bench "$p" ;;
      idle|flood|fanout) run_socket_bench "$p"; STACK_USED_BY_SOCKETS=1 ;;
      *) run_relay_bench "$p" ;;
    esac
  done
done
stop_stack

for p in "${PHASES[@]}"; do
  if [[ "$p" == jmh ]]; then
    log "JMH (JSON codec, frame building, send queue)"
    java -cp "$BENCH_CP" org.openjdk.jmh.Main -f "${JMH_FORKS:-1}" -wi "${JMH_WARMUP:-3}" -w 1s \
      -i "${JMH_ITERATIONS:-5}" -r 1s -tu us -bm avgt \
      -rf json -rff "$OUT/jmh.json" 'dev.pushrelay.bench.jmh.*' >"$OUT/jmh.log" 2>&1 \
      || { log "JMH failed; see $OUT/jmh.log"; exit 1; }
    java -cp "$BENCH_CP" dev.pushrelay.bench.JmhReport "$OUT/jmh.json" >"$OUT/jmh.md"
  fi
done

# docs/BENCHMARKS.md: machine, date, then each phase's last result (BENCH_DOCS=0: results only in $OUT).
if [[ "${BENCH_DOCS:-1}" == 0 ]]; then
  log "results in $OUT (docs/BENCHMARKS.md left as it was)"
  exit 0
fi
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`scripts/bench.sh\` (issue 7). Every load runs on loopback against the local"
  echo "emulators (\`scripts/run-local.sh\` on ports $BASE+), bounded in count and time."
  echo
  echo "## Machine"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- cores: $(nproc); memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- java: $(java -version 2>&1 | head -2 | tr '\n' ' ')"
  [[ -x "$JAVA25" ]] && echo "- java 25: $("$JAVA25" -version 2>&1 | head -2 | tr '\n' ' ')"
  echo "- pinning (taskset) in phases 1-3: the server under test on core ${SERVER_CPUS:-1}, the load generator (client"
  echo "  sockets and publisher) on core ${CLIENT_CPUS:-0}; the emulators and the rest of the stack are not pinned"
  echo "- pinning (taskset) in phases 4-7: cold start runs the started JVM alone on core ${COLD_CPUS-1} and moves the stack"
  echo "  and the bench to the other core for the phase; cost, end to end and pending delivery pin nothing: there the"
  echo "  system under test is the whole pipeline of six JVMs (two emulators, two functions, two nodes), which needs"
  echo "  both cores, and the emulator floor of phase 4 runs at the same time, so both see the same load"
  echo
  echo "## Not measured yet"
  echo
  echo "- Phase 6 starts the send function under the Functions Framework invoker as the local stack does; in the cloud"
  echo "  the Java buildpack of Cloud Run functions picks its JVM and flags, so no archive is adopted for it."
  echo "- Phase 2 and 3 goals are missed (heap per socket, memory and CPU per message against the \`ws\` peer); see"
  echo "  the notes under each table for where the memory and the CPU go."
  echo
  echo "## Hot-path fixes (the issue's last step): what changed and by how much"
  echo
  echo "The first complete pass (commit c069c69, same command, same machine) showed two large costs on the message"
  echo "path; both were fixed, and a third found by phase 3:"
  echo
  echo "1. **Two Pub/Sub hops for every message.** Before: send → \`relay-requests\` → push to the route function →"
  echo "   registry read → \`relay-deliveries\` → node; end to end at 50/s p50 79 ms, p99 148 ms (2.78× the emulator's"
  echo "   p99), 2 publishes per message. Now the send function routes directly when a live node holds the user (one"
  echo "   hop; the route function stays the retry path). Phase 4 measures both paths in the same run, alternating:"
  echo "   the rows \"direct route\" (after) and \"via route function\" (before: a one-user \`userIds\` request still takes"
  echo "   the old path). Phase 7: 1 publish per message for a connected user (was 2)."
  echo "2. **Retries of messages a socket already got.** Before: pending user 6.16 Firestore reads, 4.14 writes and"
  echo "   1.52 publishes per message, because each retry of a drained message did a registry read, routed a second"
  echo "   copy to the node and deleted the entry. Now a retry reads the mailbox entry first and a delivered one is"
  echo "   settled with that one read (the tombstone stays until its TTL); a retry during a catch-up waits; a request"
  echo "   the send function already found without a live node is parked at once; with Pub/Sub's own delivery attempt"
  echo "   a waiting entry is not rewritten per retry (production; the emulator has no delivery attempt, so the"
  echo "   figures here still count that write). Phase 7's pending row is the after."
  echo "3. **One acknowledge call per delivered message** on the node (found by phase 3: the peers' client batches"
  echo "   them). Before: 8152 messages per CPU-second at 3000/s and 4167 at 200/s (run of 09:13 and 08:59 today). Now"
  echo "   acks go out in batches every 5 ms; phase 3's relay row is the after."
  echo
  echo "## Adopted in the container image (phase 6)"
  echo
  echo "The socket node image builds on \`gcr.io/distroless/java25-debian13:nonroot\` (Temurin 25; it was Debian's"
  echo "Java 17 on debian12, whose distroless Java images are no longer built) and maps an AOT cache of the node (JEP"
  echo "483/514/515): classes loaded and linked, with method profiles. A JVM maps only an archive its very own build"
  echo "wrote for the same class path (paths, order, jar sizes and times), and one told to map a missing or foreign"
  echo "archive runs without even the JDK's own CDS, so the archive cannot be made on a developer machine or by"
  echo "Jib, which never runs the JVM. \`cloudbuild.yaml\` pins the base image by digest, copies its JVM out with"
  echo "\`docker cp\`, runs \`scripts/deploy/node-class-archive.sh\` with it (a training run of the node against the"
  echo "emulators on Jib's \`/app\` layout, files dated as Jib dates them, then a start with \`-XX:AOTMode=on\` that"
  echo "fails if the cache cannot be used), and builds the image on that same digest; the \`node-class-archive\`"
  echo "profile of \`socket-node/pom.xml\` adds the cache, its class path file and \`-XX:AOTCache\` to the entrypoint."
  echo "The JVM flags are one file, \`socket-node/src/main/jib/app/jvm.args\`, for the image and the training run."
  echo "Without the cache (a manual \`jib:build\`, or the allowed-to-fail training step failing) the image starts"
  echo "as before, only slower. The node's rows \`java25 … AOT cache\` below are that configuration."
  echo
  echo "## Results"
  echo
  echo "When each phase's figures below were measured (a command with some phases keeps the others' last results):"
  echo
  for p in ceiling idle flood fanout e2e pending coldstart cost jmh; do
    [[ -f "$OUT/$p.md" ]] && echo "- $p: $(date -u -r "$OUT/$p.md" '+%Y-%m-%d %H:%M UTC')"
  done
  echo
  for p in ceiling idle flood fanout e2e pending coldstart cost jmh; do
    [[ -f "$OUT/$p.md" ]] && cat "$OUT/$p.md"
  done
} >"$ROOT/docs/BENCHMARKS.md"
log "wrote docs/BENCHMARKS.md"
exit
}
