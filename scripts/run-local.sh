#!/usr/bin/env bash
# Runs the whole relay on this machine: Pub/Sub and Firestore emulators, the topology, the send and
# route functions (Functions Framework servlet), two socket nodes and the example echo backend. Ctrl-C or SIGTERM stops exactly
# the processes it started. Every setting below can be overridden by environment variable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GOOGLE_CLOUD_PROJECT="${GOOGLE_CLOUD_PROJECT:-relay-local}"
PUBSUB_PORT="${PUBSUB_PORT:-8085}"
FIRESTORE_PORT="${FIRESTORE_PORT:-8086}"
SEND_PORT="${SEND_PORT:-8080}"
ROUTE_PORT="${ROUTE_PORT:-8081}"
NODE1_PORT="${NODE1_PORT:-8090}"
NODE2_PORT="${NODE2_PORT:-8091}"
export RELAY_JWT_SECRET="${RELAY_JWT_SECRET:-local-dev-secret-change-me-0123456789abcdef}"
LOG_DIR="${RELAY_LOG_DIR:-$ROOT/.local/logs}"
JAVA="${JAVA:-java}"
READY_TIMEOUT="${RELAY_READY_TIMEOUT_SECONDS:-120}"
# Every part (socket nodes with the demo page and dev tokens signed with the published secret, the
# functions, the emulators) listens on this machine only; RELAY_BIND_HOST=0.0.0.0 opens the nodes and
# the functions to the network, with a warning. The emulators stay on loopback.
export RELAY_BIND_HOST="${RELAY_BIND_HOST:-127.0.0.1}"
# Presence (GET /v1/users/{id}/presence) for any caller here; in the cloud only the accounts named in
# Terraform's presence_callers may ask.
export RELAY_PRESENCE_CALLERS="${RELAY_PRESENCE_CALLERS:-*}"

export PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT"
export FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT"
# Retry settings are passed through when set: RELAY_RETRY_MIN_BACKOFF_SECONDS,
# RELAY_RETRY_MAX_BACKOFF_SECONDS, RELAY_MAX_DELIVERY_ATTEMPTS (defaults: config/topology.json).

mkdir -p "$LOG_DIR"
PIDS=()

# Never let a closed output (the terminal or a parent that went away) stop the cleanup: ignore SIGPIPE.
trap '' PIPE
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2 2>/dev/null || true; }

stop_all() {
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    log "stopping ${#PIDS[@]} processes"
    # Socket nodes and functions first (they drain), emulators last; each is its own process group.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
      kill -TERM -- "-${PIDS[i]}" 2>/dev/null || true
      for _ in $(seq 1 150); do
        kill -0 "${PIDS[i]}" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL -- "-${PIDS[i]}" 2>/dev/null || true
    done
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME COMMAND...: runs COMMAND in a process group of its own, output to $LOG_DIR/NAME.log
start() {
  local name="$1"; shift
  setsid "$@" >"$LOG_DIR/$name.log" 2>&1 &
  PIDS+=("$!")
  echo "$!" >"$LOG_DIR/$name.pid"
}

alive() { kill -0 "$(cat "$LOG_DIR/$1.pid")" 2>/dev/null; }

wait_port() {
  local name="$1" port="$2" deadline=$((SECONDS + READY_TIMEOUT))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! alive "$name"; then log "$name exited; see $LOG_DIR/$name.log"; exit 1; fi
    if ((SECONDS > deadline)); then log "$name did not open port $port; see $LOG_DIR/$name.log"; exit 1; fi
    sleep 0.2
  done
}

wait_http() {
  local name="$1" url="$2" deadline=$((SECONDS + READY_TIMEOUT))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! alive "$name"; then log "$name exited; see $LOG_DIR/$name.log"; exit 1; fi
    if ((SECONDS > deadline)); then log "$name not ready at $url; see $LOG_DIR/$name.log"; exit 1; fi
    sleep 0.2
  done
}

# wait_log NAME TEXT: until the part's log holds TEXT (its subscription exists from then on)
wait_log() {
  local name="$1" text="$2" deadline=$((SECONDS + READY_TIMEOUT))
  until grep -q "$text" "$LOG_DIR/$name.log" 2>/dev/null; do
    if ! alive "$name"; then log "$name exited; see $LOG_DIR/$name.log"; exit 1; fi
    if ((SECONDS > deadline)); then log "$name not ready; see $LOG_DIR/$name.log"; exit 1; fi
    sleep 0.2
  done
}

# Build once if the runnable classpaths are missing (or are of a build from before relay-gcp).
if [[ ! -d "$ROOT/functions/target/lib" || ! -d "$ROOT/socket-node/target/lib" \
  || -z "$(ls "$ROOT"/functions/target/lib/relay-gcp-*.jar 2>/dev/null)" \
  || ! -f "$ROOT/functions/target/invoker/java-function-invoker.jar" \
  || -z "$(ls "$ROOT"/local-invoker/target/local-invoker-*.jar 2>/dev/null)" \
  || ! -d "$ROOT/examples/echo-backend/target/lib" ]]; then
  log "building (first run)"
  (cd "$ROOT" && mvn -B -q -DskipTests -Dmaven.test.skip=true package >"$LOG_DIR/build.log" 2>&1) \
    || { log "build failed; see $LOG_DIR/build.log"; exit 1; }
fi
FUNCTIONS_CP="$(ls "$ROOT"/functions/target/functions-*.jar | head -1):$ROOT/functions/target/lib/*"
NODE_CP="$(ls "$ROOT"/socket-node/target/socket-node-*.jar | head -1):$ROOT/socket-node/target/lib/*"
ECHO_CP="$(ls "$ROOT"/examples/echo-backend/target/echo-backend-*.jar | head -1):$ROOT/examples/echo-backend/target/lib/*"

SDK_ROOT="${CLOUDSDK_ROOT_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")}"
PUBSUB_JAR="$(ls "$SDK_ROOT"/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar | head -1)"
FIRESTORE_JAR="$SDK_ROOT/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"

log "starting emulators (Pub/Sub :$PUBSUB_PORT, Firestore :$FIRESTORE_PORT)"
start pubsub-emulator "$JAVA" -Xmx512m -jar "$PUBSUB_JAR" --host=127.0.0.1 --port="$PUBSUB_PORT"
start firestore-emulator "$JAVA" -Xmx512m -cp "$FIRESTORE_JAR" \
  com.google.cloud.datastore.emulator.firestore.CloudFirestore start \
  --host=127.0.0.1 --port="$FIRESTORE_PORT" --database-mode=firestore-native
wait_port pubsub-emulator "$PUBSUB_PORT"
wait_port firestore-emulator "$FIRESTORE_PORT"

log "creating the topology"
RELAY_ROUTE_PUSH_URL="http://127.0.0.1:$ROUTE_PORT/" \
  "$JAVA" -cp "$FUNCTIONS_CP" dev.pushrelay.gcp.TopologyBootstrap >"$LOG_DIR/topology.log" 2>&1 \
  || { log "topology failed; see $LOG_DIR/topology.log"; exit 1; }

# The functions run in the Functions Framework's servlet, behind a connector on $RELAY_BIND_HOST (the
# framework's own invoker listens on every interface and cannot be told otherwise).
INVOKER_CP="$(ls "$ROOT"/local-invoker/target/local-invoker-*.jar | head -1):$ROOT/functions/target/invoker/java-function-invoker.jar"
CORS="http://127.0.0.1:$NODE1_PORT,http://localhost:$NODE1_PORT,http://127.0.0.1:$NODE2_PORT,http://localhost:$NODE2_PORT"
if [[ "$RELAY_BIND_HOST" != "127.0.0.1" && "$RELAY_BIND_HOST" != "localhost" && "$RELAY_BIND_HOST" != "::1" ]]; then
  log "WARNING: socket nodes and functions listen on $RELAY_BIND_HOST: anyone who can reach this machine can mint dev tokens for any user, read their messages and send them anything"
fi
log "starting functions (send :$SEND_PORT, route :$ROUTE_PORT) and socket nodes (:$NODE1_PORT, :$NODE2_PORT), all on $RELAY_BIND_HOST"
RELAY_CORS_ORIGINS="${RELAY_CORS_ORIGINS:-$CORS}" start send-function "$JAVA" -XX:TieredStopAtLevel=1 \
  -cp "$INVOKER_CP" dev.pushrelay.localinvoker.LoopbackInvoker --host "$RELAY_BIND_HOST" \
  --classpath "$FUNCTIONS_CP" --target dev.pushrelay.functions.send.SendFunction --port "$SEND_PORT"
start route-function "$JAVA" -XX:TieredStopAtLevel=1 -cp "$INVOKER_CP" dev.pushrelay.localinvoker.LoopbackInvoker \
  --host "$RELAY_BIND_HOST" --classpath "$FUNCTIONS_CP" --target dev.pushrelay.functions.route.RouteFunction \
  --port "$ROUTE_PORT"
# Each node stands for a Cloud Run revision of its own (Cloud Run sets K_REVISION in every instance):
# scripts/rollback.sh --retire local-1 retires node 1 alone.
for n in 1 2; do
  port_var="NODE${n}_PORT"
  # no proxy in front: every handshake counts against its socket's peer address, whatever it writes in
  # X-Forwarded-For (the tests' clients each come from an address of 127.0.0.0/8)
  PORT="${!port_var}" RELAY_NODE_ID="node-$n" K_REVISION="local-$n" RELAY_LOCAL_MODE=true RELAY_TRUSTED_PROXY_HOPS=0 \
    RELAY_SEND_URL="http://127.0.0.1:$SEND_PORT" start "socket-node-$n" "$JAVA" -cp "$NODE_CP" \
    dev.pushrelay.node.SocketNodeMain
done

# The example backend: answers the clients' upstream "echo" publishes through the send API.
RELAY_SEND_URL="http://127.0.0.1:$SEND_PORT" start echo-backend "$JAVA" -XX:TieredStopAtLevel=1 -cp "$ECHO_CP" \
  dev.pushrelay.examples.echo.EchoBackend

wait_port send-function "$SEND_PORT"
wait_port route-function "$ROUTE_PORT"
wait_http socket-node-1 "http://127.0.0.1:$NODE1_PORT/readyz"
wait_http socket-node-2 "http://127.0.0.1:$NODE2_PORT/readyz"
wait_log echo-backend "echo backend reading"

cat >&2 <<INFO
  demo page     http://127.0.0.1:$NODE1_PORT/   and   http://127.0.0.1:$NODE2_PORT/
  send API      POST http://127.0.0.1:$SEND_PORT/v1/messages
  route (push)  http://127.0.0.1:$ROUTE_PORT/
  upstream      topic relay-upstream; the echo backend answers publishes of event "echo" (log: echo-backend.log)
  emulators     Pub/Sub 127.0.0.1:$PUBSUB_PORT, Firestore 127.0.0.1:$FIRESTORE_PORT (project $GOOGLE_CLOUD_PROJECT)
                export PUBSUB_EMULATOR_HOST=$PUBSUB_EMULATOR_HOST FIRESTORE_EMULATOR_HOST=$FIRESTORE_EMULATOR_HOST GOOGLE_CLOUD_PROJECT=$GOOGLE_CLOUD_PROJECT
  revisions     node 1 is K_REVISION=local-1, node 2 is local-2; retire one with scripts/rollback.sh --retire local-1
  logs          $LOG_DIR
INFO
echo "relay ready: send=http://127.0.0.1:$SEND_PORT node1=ws://127.0.0.1:$NODE1_PORT/ws node2=ws://127.0.0.1:$NODE2_PORT/ws"

# Stay up until told to stop. A part that exits (a node drained with SIGTERM, or killed) is
# reported and the rest keep running, as the other instances do on Cloud Run.
set +e
running=("${PIDS[@]}")
while ((${#running[@]})); do
  wait -n "${running[@]}"
  still=()
  for pid in "${running[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then still+=("$pid"); else log "process $pid exited"; fi
  done
  running=("${still[@]}")
done
log "every process exited"
