#!/usr/bin/env bash
# Dead-letter operations on the subscription that keeps them (relay-dead-letter-hold):
#
#   scripts/dead-letters.sh list   [--all | --reason REASON | ID...] [--limit N] [--json]
#   scripts/dead-letters.sh replay (--all | --reason REASON | ID...) [--limit N]
#   scripts/dead-letters.sh purge  (--all | --reason REASON | ID...) [--limit N]
#
# list shows reason, user, message id and age without consuming anything; replay publishes the
# selected messages back to relay-requests unchanged (same message id) and removes them once Pub/Sub
# accepted the copy; purge removes them for good. IDs are the relay message ids the send API answered.
#
# Cloud: GOOGLE_CLOUD_PROJECT=my-project scripts/dead-letters.sh list
#        (application default credentials: gcloud auth application-default login; needs
#        roles/pubsub.subscriber on the hold subscription and roles/pubsub.publisher on relay-requests)
# Local stack: scripts/dead-letters.sh --local list   (the emulator on PUBSUB_PORT, default 8085)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA="${JAVA:-java}"

if [[ "${1:-}" == "--local" ]]; then
  shift
  export GOOGLE_CLOUD_PROJECT="${GOOGLE_CLOUD_PROJECT:-relay-local}"
  export PUBSUB_EMULATOR_HOST="${PUBSUB_EMULATOR_HOST:-127.0.0.1:${PUBSUB_PORT:-8085}}"
fi

jar="$(ls "$ROOT"/functions/target/functions-*.jar 2>/dev/null | head -1 || true)"
if [[ -z "$jar" || ! -d "$ROOT/functions/target/lib" ]]; then
  echo "build first: mvn -B -q -DskipTests -pl functions -am package" >&2
  exit 2
fi
# Only the operator's output on stdout: the client libraries' log lines go to stderr at WARN.
exec "$JAVA" -DRELAY_LOG_TARGET=System.err -cp "$jar:$ROOT/functions/target/lib/*" \
  dev.pushrelay.ops.DeadLettersMain "$@"
