#!/usr/bin/env bash
# Benchmark suite (issue 7), first pass. Builds what it needs, starts its own local stack with
# scripts/run-local.sh on separate ports, runs the phases against 127.0.0.1 only (bounded in count and
# time), stops exactly the processes it started and writes docs/BENCHMARKS.md.
#
#   scripts/bench.sh                 # all phases measured so far: e2e pending cost coldstart jmh
#   scripts/bench.sh e2e cost        # only some of them (docs/BENCHMARKS.md keeps the others' last results)
#
# Knobs (environment): E2E_RATES (50,200), E2E_SECONDS (10), E2E_REPEATS (3), PENDING_SAMPLES (20),
# COST_MESSAGES (100), COST_PENDING_MESSAGES (50), COST_RATE (20), COLD_RUNS (5), JAVA25 (path to a JDK 25
# `java`), BENCH_SKIP_BUILD=1, BENCH_BASE_PORT (18180).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PHASES=("$@")
((${#PHASES[@]})) || PHASES=(e2e pending cost coldstart jmh)
OUT="$ROOT/bench/target/results"
LOG_DIR="$ROOT/bench/target/stack-logs"
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
BENCH_CP="$(ls "$ROOT"/bench/target/bench-*.jar | head -1):$ROOT/bench/target/lib/*"
NODE_CP="$(ls "$ROOT"/socket-node/target/socket-node-*.jar | head -1):$ROOT/socket-node/target/lib/*"

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
trap 'stop_stack' EXIT
trap 'stop_stack; exit 130' INT
trap 'stop_stack; exit 143' TERM

wait_for_quiet
needs_stack=0
for p in "${PHASES[@]}"; do [[ "$p" != jmh ]] && needs_stack=1; done

export PUBSUB_PORT=$((BASE + 5)) FIRESTORE_PORT=$((BASE + 6)) SEND_PORT=$((BASE + 0)) ROUTE_PORT=$((BASE + 1)) \
  NODE1_PORT=$((BASE + 10)) NODE2_PORT=$((BASE + 11)) RELAY_LOG_DIR="$LOG_DIR"
export GOOGLE_CLOUD_PROJECT="${GOOGLE_CLOUD_PROJECT:-relay-local}"
export RELAY_JWT_SECRET="${RELAY_JWT_SECRET:-local-dev-secret-change-me-0123456789abcdef}"

if ((needs_stack)); then
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
fi

# Fixed order: cost first on a quiet stack (pending phases leave router copies retrying for minutes,
# which would pollute its idle background), cold start last.
STACK_PHASES=()
for q in cost e2e pending coldstart; do
  for p in "${PHASES[@]}"; do [[ "$p" == "$q" ]] && STACK_PHASES+=("$p"); done
done
for p in "${PHASES[@]}"; do
  case "$p" in cost|e2e|pending|coldstart|jmh) ;; *) log "unknown phase $p"; exit 2 ;; esac
done
if ((${#STACK_PHASES[@]})); then
  COLD_JAVAS="java17=$(command -v java)"
  [[ -x "$JAVA25" ]] && COLD_JAVAS+=",java25=$JAVA25"
  SEND_URL="http://127.0.0.1:$SEND_PORT" ROUTE_URL="http://127.0.0.1:$ROUTE_PORT" \
    NODE1_URL="http://127.0.0.1:$NODE1_PORT" NODE2_URL="http://127.0.0.1:$NODE2_PORT" \
    PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
    BENCH_OUT="$OUT" NODE_CP="$NODE_CP" COLD_JAVAS="$COLD_JAVAS" COLD_PORT=$((BASE + 19)) \
    java -cp "$BENCH_CP" dev.pushrelay.bench.RelayBench "${STACK_PHASES[@]}" 2>"$OUT/bench.log" >/dev/null \
    || { log "a phase failed; see $OUT/bench.log"; exit 1; }
fi
stop_stack

for p in "${PHASES[@]}"; do
  if [[ "$p" == jmh ]]; then
    log "JMH (JSON codec, frame building)"
    java -cp "$BENCH_CP" org.openjdk.jmh.Main -f 1 -wi 3 -w 1s -i 5 -r 1s -tu us -bm avgt \
      -rf json -rff "$OUT/jmh.json" 'dev.pushrelay.bench.jmh.*' >"$OUT/jmh.log" 2>&1 \
      || { log "JMH failed; see $OUT/jmh.log"; exit 1; }
    java -cp "$BENCH_CP" dev.pushrelay.bench.JmhReport "$OUT/jmh.json" >"$OUT/jmh.md"
  fi
done

# docs/BENCHMARKS.md: machine, date, then each phase's last result.
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`scripts/bench.sh\` (first pass of issue 7). Every load runs on loopback against the local"
  echo "emulators (\`scripts/run-local.sh\` on ports $BASE+), bounded in count and time."
  echo
  echo "## Machine"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- cores: $(nproc); memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- java: $(java -version 2>&1 | head -2 | tr '\n' ' ')"
  [[ -x "$JAVA25" ]] && echo "- java 25: $("$JAVA25" -version 2>&1 | head -2 | tr '\n' ' ')"
  echo "- the load generator and the whole stack (emulators, functions, two nodes) share these cores; nothing is pinned yet,"
  echo "  so every figure below includes that contention (at 200/s the stack is CPU-bound on this machine)"
  echo
  echo "## Not measured yet"
  echo
  echo "- Phase 1 (ceiling: Jetty echo and \`ws\` echo), phase 2 (idle sockets: heap and RSS per socket at 1k/5k/10k),"
  echo "  phase 3 (fan-out: 1k sockets, rising rate, delivered messages per CPU-second) — not built yet."
  echo "- Peers: the Node \`ws\` and Socket.IO servers are **not installed yet**, so there are no peer ratios."
  echo "- Phase 4 runs at fixed rates, not at 10 % and 50 % of the fan-out maximum (phase 3 does not exist yet)."
  echo "- Phase 6: only the socket node (not the send function's first 202), no CDS archive variant, 5 runs not 10."
  echo "- Phase 4: the emulator floor is measured in the same run but right after each relay run, not concurrently."
  echo "- Phase 5 and 7: one run each, no spread over repeated runs yet. No JMH for the send queue yet."
  echo "- No fixes of hot-path costs yet (the issue's last step)."
  echo
  echo "## Results"
  echo
  for p in e2e pending coldstart cost jmh; do
    [[ -f "$OUT/$p.md" ]] && cat "$OUT/$p.md"
  done
} >"$ROOT/docs/BENCHMARKS.md"
log "wrote docs/BENCHMARKS.md"
