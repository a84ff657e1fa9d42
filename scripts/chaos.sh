#!/usr/bin/env bash
# The fault suite's long run: the same chaos scenario as `mvn verify` runs once (e2e ChaosIT), repeated
# RUNS times on a fresh local stack each, and its figures written to docs/RELIABILITY.md.
#   scripts/chaos.sh [RUNS]     # default 3
# Every fault hits a real process of the local stack by its pid (SIGKILL, SIGSTOP/SIGCONT, SIGTERM)
# and the test stops what it started by pid. Needs what `mvn verify` needs (Java 17, Maven, gcloud
# emulators); about five minutes per run on two cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
cd "$ROOT"
mvn -B -q -DskipTests install
mvn -B -pl e2e verify -Dit.test=ChaosIT -Dsurefire.failIfNoSpecifiedTests=false \
  -Dchaos.runs="$RUNS" -Dchaos.report="$ROOT/docs/RELIABILITY.md"
echo "wrote $ROOT/docs/RELIABILITY.md"
