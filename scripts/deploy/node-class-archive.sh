#!/usr/bin/env bash
# Builds the socket node's class-data archive for its container image from a training run: the node
# starts against the Pub/Sub and Firestore emulators, becomes ready, serves a few requests and stops
# with SIGTERM, and the JVM writes every class it loaded (and, on JDK 25, linked classes and method
# profiles) to the archive as it exits. A node that maps the archive is ready in about half the time
# (docs/BENCHMARKS.md, phase 6).
#
# A JVM uses such an archive only if it is the very same JVM build, with the application at the same
# paths, in the same class path order, with the same jar sizes and times; otherwise it ignores the
# archive (and a missing one named on the command line costs it even the JDK's own CDS). So this runs
# the JVM copied out of the image's base (cloudbuild.yaml pins the base by digest for both) on the
# layout Jib makes in packaged mode: /app/classpath/<the node jar>, /app/libs/<dependencies>, every
# file dated 1970-01-01T00:00:01Z. The node starts with the image's own flags, socket-node/src/main/jib/
# app/jvm.args, sized like the Cloud Run instance (1 vCPU, 1 GiB).
#
# Usage: scripts/deploy/node-class-archive.sh JAVA OUT_DIR
#   JAVA     the `java` of the image's base
#   OUT_DIR  receives app/archive/{socket-node.aot|socket-node.jsa, classpath, archive.args}; the
#            node-class-archive profile of socket-node/pom.xml adds them to the image when they exist
# Environment: APP_ROOT (/app: the image's path; anything else is for trying the script out),
#   NODE_TARGET (socket-node/target, after `mvn package`), PUBSUB_EMULATOR_HOST and
#   FIRESTORE_EMULATOR_HOST (emulators with the relay topology; when unset the script starts both from
#   the gcloud SDK and creates the topology), GOOGLE_CLOUD_PROJECT (relay-archive), TRAINING_PORT (18099),
#   TRAINING_MAX_RAM (1g), TRAINING_CPUS (1).
set -euo pipefail

if (($# != 2)); then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAVA="$1"
OUT="$(mkdir -p "$2" && cd "$2" && pwd)"
APP_ROOT="${APP_ROOT:-/app}"
NODE_TARGET="${NODE_TARGET:-$ROOT/socket-node/target}"
FLAGS_FILE="$ROOT/socket-node/src/main/jib/app/jvm.args"
PORT="${TRAINING_PORT:-18099}"
export GOOGLE_CLOUD_PROJECT="${GOOGLE_CLOUD_PROJECT:-relay-archive}"
WORK="$(mktemp -d)"
PIDS=()

log() { printf '%s node-class-archive: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM -- "-${PIDS[i]}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 -- "-${PIDS[i]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-${PIDS[i]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

major="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
if ((major >= 25)); then
  # JEP 483/514/515: classes loaded and linked, plus method profiles, written at exit in one step
  name=socket-node.aot record=(-XX:AOTCacheOutput="$APP_ROOT/archive/socket-node.aot")
  use=-XX:AOTCache="$APP_ROOT/archive/socket-node.aot" strict=-XX:AOTMode=on
elif ((major >= 17)); then
  # dynamic AppCDS: the application's classes on top of the JDK's default CDS archive
  name=socket-node.jsa record=(-XX:ArchiveClassesAtExit="$APP_ROOT/archive/socket-node.jsa")
  use=-XX:SharedArchiveFile="$APP_ROOT/archive/socket-node.jsa" strict=-Xshare:on
else
  log "java $major is too old for an application class archive"
  exit 1
fi
log "java $major ($("$JAVA" -version 2>&1 | tail -1)); archive $APP_ROOT/archive/$name"

# The image's layout (Jib, containerizingMode packaged): node jar, dependencies, flags, all dated @1.
shopt -s nullglob
jars=()
for j in "$NODE_TARGET"/socket-node-*.jar; do
  case "$j" in *-sources.jar | *-javadoc.jar | *-tests.jar) ;; *) jars+=("$j") ;; esac
done
if ((${#jars[@]} != 1)) || [[ ! -d "$NODE_TARGET/lib" ]]; then
  log "expected one socket-node jar and lib/ in $NODE_TARGET: run 'mvn -pl socket-node -am package' first"
  exit 1
fi
rm -rf "$APP_ROOT/classpath" "$APP_ROOT/libs" "$APP_ROOT/archive" "$APP_ROOT/jvm.args"
mkdir -p "$APP_ROOT/classpath" "$APP_ROOT/libs" "$APP_ROOT/archive"
cp "${jars[0]}" "$APP_ROOT/classpath/"
cp "$NODE_TARGET"/lib/*.jar "$APP_ROOT/libs/"
cp "$FLAGS_FILE" "$APP_ROOT/jvm.args"
find "$APP_ROOT/classpath" "$APP_ROOT/libs" "$APP_ROOT/jvm.args" -exec touch -h -d @1 {} +
{
  printf '%s' "$APP_ROOT/classpath/$(basename "${jars[0]}")"
  (cd "$APP_ROOT/libs" && LC_ALL=C ls -1 -- *.jar) | while read -r lib; do printf ':%s' "$APP_ROOT/libs/$lib"; done
  echo
} >"$APP_ROOT/archive/classpath"
echo "$use" >"$APP_ROOT/archive/archive.args"
CLASSPATH_ARG="@$APP_ROOT/archive/classpath"
SIZING=(-XX:ActiveProcessorCount="${TRAINING_CPUS:-1}" -XX:MaxRAM="${TRAINING_MAX_RAM:-1g}")

start() { # start NAME COMMAND...: its own process group, output to $WORK/NAME.log
  local name="$1"
  shift
  setsid "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
}
wait_port() {
  local deadline=$((SECONDS + 120))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    ((SECONDS < deadline)) || { log "nothing listens on port $1"; exit 1; }
    sleep 0.2
  done
}

if [[ -z "${PUBSUB_EMULATOR_HOST:-}" || -z "${FIRESTORE_EMULATOR_HOST:-}" ]]; then
  sdk="${CLOUDSDK_ROOT_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")}"
  pubsub_jar="$(ls "$sdk"/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar | head -1)"
  firestore_jar="$sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
  emulator_java="$(command -v java || echo "$JAVA")"
  log "starting the emulators from $sdk"
  start pubsub "$emulator_java" -jar "$pubsub_jar" --host=127.0.0.1 --port=18085
  start firestore "$emulator_java" -cp "$firestore_jar" com.google.cloud.datastore.emulator.firestore.CloudFirestore \
    start --host=127.0.0.1 --port=18086 --database-mode=firestore-native
  wait_port 18085
  wait_port 18086
  export PUBSUB_EMULATOR_HOST=127.0.0.1:18085 FIRESTORE_EMULATOR_HOST=127.0.0.1:18086
  "$JAVA" -cp "$CLASSPATH_ARG" dev.pushrelay.gcp.TopologyBootstrap >"$WORK/topology.log" 2>&1 \
    || { cat "$WORK/topology.log" >&2; exit 1; }
fi

# run_node NAME FLAGS...: starts the node with the image's flags plus FLAGS, waits for /readyz, drives
# the requests an instance serves first, stops it with SIGTERM and waits for the exit.
run_node() {
  local name="$1" pid deadline=$((SECONDS + 120)) ready=""
  shift
  PORT="$PORT" RELAY_SERVE_METRICS=true RELAY_SERVE_DEMO=true RELAY_NODE_ID="archive-$name-$$" RELAY_JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
    start "$name" "$JAVA" "@$APP_ROOT/jvm.args" "${SIZING[@]}" "$@" -cp "$CLASSPATH_ARG" \
    dev.pushrelay.node.SocketNodeMain
  pid="${PIDS[-1]}"
  while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
      ready=1
      break
    fi
    sleep 0.05
  done
  if [[ -z "$ready" ]]; then
    log "the $name run never became ready:"
    tail -30 "$WORK/$name.log" >&2
    exit 1
  fi
  for path in /healthz /readyz /metrics /; do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT$path" 2>/dev/null || true
  done
  # an unauthenticated WebSocket handshake: the upgrade path up to the 401
  curl -sS -o /dev/null -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$PORT/ws" 2>/dev/null || true
  kill -TERM "$pid"
  deadline=$((SECONDS + 180))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || { log "the $name run did not exit"; exit 1; }
    sleep 0.1
  done
  wait "$pid" || true
}

log "training run"
run_node training "${record[@]}"
[[ -s "$APP_ROOT/archive/$name" ]] || { log "no archive written; see the training log:"; tail -30 "$WORK/training.log" >&2; exit 1; }

# The same start, made to fail if this JVM cannot use the archive, and counting what it took from it.
log "checking that the archive is used"
run_node check "$use" "$strict" -Xlog:class+load=info:file="$WORK/classes.log"
total="$(grep -c 'source:' "$WORK/classes.log" || true)"
shared="$(grep -c 'source: shared objects file' "$WORK/classes.log" || true)"
log "$shared of $total classes came from an archive"

mkdir -p "$OUT/app/archive"
cp "$APP_ROOT/archive/$name" "$APP_ROOT/archive/classpath" "$APP_ROOT/archive/archive.args" "$OUT/app/archive/"
log "wrote $OUT/app/archive ($(du -h "$OUT/app/archive/$name" | cut -f1))"
