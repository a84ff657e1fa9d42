#!/usr/bin/env bash
# docs/COST.md from a benchmark run's operation counts and the published prices:
#   scripts/bench.sh cost      # phase 7 counts reads, writes, publishes and deliveries per message (cost.json)
#   scripts/cost.sh            # prices (docs/prices.json, each with its source and date) x counts -> docs/COST.md
# BENCH_OUT (bench/target/results) is where phase 7 wrote cost.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/target/results}"
if [[ ! -f "$OUT/cost.json" ]]; then
  echo "cost: no $OUT/cost.json; run scripts/bench.sh cost first" >&2
  exit 2
fi
if ! ls "$ROOT"/bench/target/bench-*.jar >/dev/null 2>&1; then
  (cd "$ROOT" && mvn -B -q -DskipTests install && mvn -B -q -f bench/pom.xml -DskipTests package)
fi
JAR="$(ls "$ROOT"/bench/target/bench-*.jar | head -1)"
java -cp "$JAR:$ROOT/bench/target/lib/*" dev.pushrelay.bench.CostModel "$OUT/cost.json" "$ROOT/docs/prices.json" \
  "$ROOT/docs/COST.md"
