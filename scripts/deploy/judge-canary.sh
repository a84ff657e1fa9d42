#!/usr/bin/env bash
# Judges a socket node canary revision on the relay's service levels, read from Cloud Monitoring
# (PromQL over the Monitoring API) over a window that ends now.
#
#   judge-canary.sh --revision REVISION [--project P] [--window 30m] [--label service_version]
#                   [--min-attempts 50]
#
# Exit 0: every level held. Exit 1: a level was breached (each is printed). Exit 2: not enough data to
# judge (fewer connection attempts than --min-attempts, or a level with no data): promote nothing on 2.
#
# The levels, on the revision's own series (the label --label = REVISION), with the queries of the
# alerts in terraform/monitoring.tf and stricter thresholds:
#   connection success rate >= 99.9 %   accepted among attempts, client-side refusals excluded
#   delivery rate           >= 99.95 %  delivered among delivered + failed on the revision's nodes
#                                       (the alert also counts dead letters: the route function writes
#                                       most, and a node only handed_back ones, a client's doing: not
#                                       the canary's to answer for)
#   connection time p99     <= 5 s      handshake to connection_established
#
# The revision label: Cloud Run sets K_REVISION in every instance, the node puts it in its OpenTelemetry
# resource (service.version), and its exporter writes that as the label service_version on each series
# (terraform/monitoring.tf says how the instruments are named in Cloud Monitoring).
#
# Needs gcloud (an access token of an account with roles/monitoring.viewer) and curl. The token is
# never printed nor put on a command line.
set -euo pipefail

fail() {
  echo "judge-canary.sh: $*" >&2
  exit 2
}

project="${GOOGLE_CLOUD_PROJECT:-}"
revision=""
window=30m
label=service_version
min_attempts=50
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fail "$1 needs a value"
  case "$1" in
    --project) project="$2" ;;
    --revision) revision="$2" ;;
    --window) window="$2" ;;
    --label) label="$2" ;;
    --min-attempts) min_attempts="$2" ;;
    *) fail "unknown option $1 (see the top of $0)" ;;
  esac
  shift 2
done
[ -n "$project" ] || fail "no project: --project or GOOGLE_CLOUD_PROJECT"
[[ "$revision" =~ ^[a-z][a-z0-9-]{0,62}$ ]] || fail "--revision must be a Cloud Run revision name, not '$revision'"
[[ "$window" =~ ^[0-9]+[smh]$ ]] || fail "--window is a PromQL duration such as 30m or 1h, not '$window'"
[[ "$label" =~ ^[a-zA-Z_][a-zA-Z0-9_]*$ ]] || fail "--label must be a Prometheus label name, not '$label'"
[[ "$min_attempts" =~ ^[0-9]+$ ]] || fail "--min-attempts must be a whole number"

api="${CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING:-https://monitoring.googleapis.com/}"
url="${api%/}/v1/projects/$project/location/global/prometheus/api/v1/query"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077
token="$(gcloud auth print-access-token)" || fail "gcloud auth print-access-token failed"
printf 'Authorization: Bearer %s\n' "$token" > "$work/auth"
unset token

# query PROMQL: prints the value of the one sample of an instant query, or nothing when there is none.
query() {
  local body
  body="$(curl -sS --fail-with-body -H @"$work/auth" --data-urlencode "query=$1" "$url")" \
    || { echo "judge-canary.sh: the Monitoring API refused the query $1: $body" >&2; exit 2; }
  case "$body" in
    *'"status":"success"'* | *'"status": "success"'*) ;;
    *) echo "judge-canary.sh: unexpected answer to $1: $body" >&2; exit 2 ;;
  esac
  printf '%s' "$body" | tr -d ' \n' | grep -o '"value":\[[^]]*\]' | head -1 | sed -E 's/.*,"([^"]*)"\]$/\1/' || true
}

# The instruments' names in Cloud Monitoring's PromQL, as the processes' exporter writes them.
m="workload_googleapis_com:"
sel="monitored_resource=\"generic_task\",$label=\"$revision\""
attempts="${m}websocket_connection_attempts{$sel,outcome!~\"auth_failed|origin_refused\"}"
q_attempts="sum(increase($attempts[$window]))"
q_success="sum(rate(${m}websocket_connection_attempts{$sel,outcome=\"accepted\"}[$window])) / sum(rate($attempts[$window]))"
q_delivery="sum(rate(${m}websocket_message_delivery{$sel,outcome=\"delivered\"}[$window])) / sum(rate(${m}websocket_message_delivery{$sel,outcome=~\"delivered|failed\"}[$window]))"
q_p99="histogram_quantile(0.99, sum by (le) (rate(${m}websocket_connection_time_bucket{$sel}[$window])))"

# number VALUE: VALUE when it is a finite number, else nothing.
finite() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && printf '%s' "$1"; return 0; }

# Each answer into a variable first: a refused query stops the script (exit 2) instead of reading as no data.
v_attempts="$(query "$q_attempts")"
n="$(finite "$v_attempts")"
if [ -z "$n" ] || awk -v n="$n" -v m="$min_attempts" 'BEGIN { exit !(n < m) }'; then
  echo "cannot judge $revision: ${n:-no} connection attempts in the last $window, fewer than $min_attempts (is the label $label on its series?)" >&2
  exit 2
fi

breached=0
nodata=0
# level NAME VALUE OP THRESHOLD: OP is >= or <=, the condition the level must meet.
level() {
  local name="$1" raw="$2" op="$3" limit="$4" value
  if [ "$op" = "<=" ] && [ "$raw" = "+Inf" ]; then
    echo "BREACHED $name: +Inf (a connection took longer than the largest bucket), must be <= $limit" >&2
    breached=1
    return
  fi
  value="$(finite "$raw")"
  if [ -z "$value" ]; then
    echo "NO DATA  $name: '${raw}' over the last $window" >&2
    nodata=1
  elif awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then
    echo "ok       $name: $value ($op $limit)" >&2
  else
    echo "BREACHED $name: $value, must be $op $limit" >&2
    breached=1
  fi
}

echo "judging revision $revision of project $project over the last $window ($n connection attempts)" >&2
v_success="$(query "$q_success")"
v_delivery="$(query "$q_delivery")"
v_p99="$(query "$q_p99")"
level "connection success rate" "$v_success" ">=" 0.999
level "delivery rate" "$v_delivery" ">=" 0.9995
level "connection time p99 (s)" "$v_p99" "<=" 5

if [ "$breached" -ne 0 ]; then
  echo "verdict: $revision breached a service level: roll it back (scripts/rollback.sh --retire $revision)" >&2
  exit 1
fi
if [ "$nodata" -ne 0 ]; then
  echo "verdict: not enough data to judge $revision" >&2
  exit 2
fi
echo "verdict: $revision held every service level" >&2
