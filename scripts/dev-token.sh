#!/usr/bin/env bash
# Prints a one-hour HS256 token for a user id, signed with RELAY_JWT_SECRET (the local default if unset).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -eq 1 ]] || { echo "usage: $0 <userId>" >&2; exit 2; }
export RELAY_JWT_SECRET="${RELAY_JWT_SECRET:-local-dev-secret-change-me-0123456789abcdef}"
exec java -cp "$(ls "$ROOT"/socket-node/target/socket-node-*.jar | head -1):$ROOT/socket-node/target/lib/*" \
  dev.pushrelay.node.auth.DevTokens "$1"
