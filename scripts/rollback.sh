#!/usr/bin/env bash
# Rolls the socket node back from a revision and retires that revision's nodes.
#
#   scripts/rollback.sh --retire REVISION [--to PREVIOUS] [--project P] [--region R] [--service S] [--database D]
#
# In the cloud (no FIRESTORE_EMULATOR_HOST): first 100 % of the service's traffic goes to PREVIOUS
# (gcloud run services update-traffic S --to-revisions PREVIOUS=100); without --to, PREVIOUS is the
# newest ready revision created before REVISION. Only then is REVISION retired, so that its sockets have
# somewhere to reconnect to. --project (or GOOGLE_CLOUD_PROJECT), --region (or CLOUDSDK_RUN_REGION) and
# --service (or RELAY_SOCKET_NODE_SERVICE; Terraform's output socket_node_service) say where.
#
# On the local stack (FIRESTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT as scripts/run-local.sh prints
# them) there is no traffic to move: REVISION (local-1 or local-2) is retired on the emulator.
#
# Retiring, in Firestore, through its REST API (the contract the socket nodes read):
#   1. revisions/REVISION gets retiredAt = now (PATCH, updateMask.fieldPaths=retiredAt);
#   2. every nodes/{id} whose revision == REVISION gets retiredAt = now the same way, so that the node's
#      next conditional lease renewal fails its precondition, re-reads its document and sees it: the node
#      closes its sockets with 1012 (the clients reconnect to a serving revision) and refuses new ones.
#      A node document deleted between the query and the write (the node left) is skipped, not re-made.
# It prints how many node documents it marked. Any other HTTP error stops it with the answer's body.
# Needs curl and, in the cloud, gcloud (run.services.update and datastore.entities.update); the access
# token is never printed nor put on a command line.
set -euo pipefail

fail() {
  echo "rollback.sh: $*" >&2
  exit 1
}

retire=""
to=""
project=""
region=""
service=""
database="(default)"
cloud_flags=()
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fail "$1 needs a value"
  case "$1" in
    --retire) retire="$2" ;;
    --to) to="$2"; cloud_flags+=("$1") ;;
    --project) project="$2"; cloud_flags+=("$1") ;;
    --region) region="$2"; cloud_flags+=("$1") ;;
    --service) service="$2"; cloud_flags+=("$1") ;;
    --database) database="$2"; cloud_flags+=("$1") ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) fail "unknown option $1 (see the top of $0)" ;;
  esac
  shift 2
done

revision_name='^[a-z][a-z0-9-]{0,62}$'
[[ "$retire" =~ $revision_name ]] || fail "--retire REVISION is required: a revision name such as relay-socket-node-production-00042-xyz or local-1"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077

if [ -n "${FIRESTORE_EMULATOR_HOST:-}" ]; then
  # Against the emulator a cloud flag means a mistake (an emulator variable left in the shell): refuse
  # rather than "roll back" the emulator while the cloud stays as it is.
  [ ${#cloud_flags[@]} -eq 0 ] || fail "FIRESTORE_EMULATOR_HOST is set ($FIRESTORE_EMULATOR_HOST), so this acts on the local emulator, yet ${cloud_flags[*]} were given: unset FIRESTORE_EMULATOR_HOST for the cloud"
  project="${GOOGLE_CLOUD_PROJECT:-}"
  [ -n "$project" ] || fail "GOOGLE_CLOUD_PROJECT is not set (scripts/run-local.sh prints it with FIRESTORE_EMULATOR_HOST)"
  base="http://$FIRESTORE_EMULATOR_HOST/v1/projects/$project/databases/(default)/documents"
  printf 'Authorization: Bearer owner\n' > "$work/auth"
  echo "local stack: retiring $retire on the Firestore emulator at $FIRESTORE_EMULATOR_HOST (project $project)" >&2
else
  project="${project:-${GOOGLE_CLOUD_PROJECT:-}}"
  region="${region:-${CLOUDSDK_RUN_REGION:-}}"
  service="${service:-${RELAY_SOCKET_NODE_SERVICE:-}}"
  [ -n "$project" ] || fail "no project: --project or GOOGLE_CLOUD_PROJECT (or FIRESTORE_EMULATOR_HOST for the local stack)"
  [ -n "$region" ] || fail "no region: --region or CLOUDSDK_RUN_REGION"
  [ -n "$service" ] || fail "no service: --service or RELAY_SOCKET_NODE_SERVICE (terraform output socket_node_service)"
  [[ "$database" =~ ^(\(default\)|[a-z][a-z0-9-]{2,62})$ ]] || fail "--database '$database' is not a Firestore database id"
  run() { gcloud run "$@" --project="$project" --region="$region"; }

  if [ -z "$to" ]; then
    # Ready revisions, newest first: the first one older than REVISION is the one before it.
    run revisions list --service="$service" --flatten=status.conditions \
      --filter='status.conditions.type=Ready AND status.conditions.status=True' \
      --sort-by=~metadata.creationTimestamp --format='value(metadata.name)' > "$work/ready"
    to="$(awk -v r="$retire" 'seen { print; exit } $0 == r { seen = 1 }' "$work/ready")"
    if ! grep -qxF -- "$retire" "$work/ready"; then
      fail "$retire is not a ready revision of $service; name the revision to move to with --to"
    fi
    [ -n "$to" ] || fail "no ready revision of $service older than $retire to roll back to; name one with --to"
  fi
  [[ "$to" =~ $revision_name ]] || fail "--to must be a revision name, not '$to'"
  [ "$to" != "$retire" ] || fail "--to and --retire are the same revision"

  echo "moving 100 % of $service's traffic to $to" >&2
  run services update-traffic "$service" --to-revisions="$to=100" --quiet >&2 \
    || fail "the traffic did not move to $to (above: why); $retire was NOT retired: it still serves"

  api="${CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE:-https://firestore.googleapis.com/}"
  base="${api%/}/v1/projects/$project/databases/$database/documents"
  token="$(gcloud auth print-access-token)" || fail "gcloud auth print-access-token failed"
  printf 'Authorization: Bearer %s\n' "$token" > "$work/auth"
  unset token
fi

# firestore METHOD URL [BODY]: the answer's body on stdout; an HTTP error stops the script with it.
firestore() {
  local out="$work/answer"
  if ! curl -sS --globoff --fail-with-body -X "$1" -H @"$work/auth" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -o "$out" "$2"; then
    fail "$1 $2 failed: $(cat "$out" 2>/dev/null)"
  fi
  cat "$out"
}

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
retired_at="{\"fields\":{\"retiredAt\":{\"timestampValue\":\"$now\"}}}"

firestore PATCH "$base/revisions/$retire?updateMask.fieldPaths=retiredAt" "$retired_at" > /dev/null
echo "revisions/$retire: retiredAt $now" >&2

query="{\"structuredQuery\":{\"from\":[{\"collectionId\":\"nodes\"}],\"select\":{\"fields\":[{\"fieldPath\":\"__name__\"}]},\"where\":{\"fieldFilter\":{\"field\":{\"fieldPath\":\"revision\"},\"op\":\"EQUAL\",\"value\":{\"stringValue\":\"$retire\"}}}}}"
firestore POST "$base:runQuery" "$query" | tr -d ' \n' | { grep -o '"name":"[^"]*/documents/nodes/[^"/]*"' || true; } \
  | sed -E 's#^"name":".*/documents/nodes/([^"/]*)"$#\1#' > "$work/nodes"

marked=0
gone=0
while IFS= read -r node; do
  [[ "$node" =~ ^[A-Za-z0-9._~-]+$ ]] || fail "unexpected node document id '$node' in the query's answer"
  # exists=true: a node that left meanwhile is not written back as a document holding retiredAt alone.
  status="$(curl -sS --globoff -o "$work/answer" -w '%{http_code}' -X PATCH -H @"$work/auth" -H 'Content-Type: application/json' \
    --data "$retired_at" "$base/nodes/$node?updateMask.fieldPaths=retiredAt&currentDocument.exists=true")" \
    || fail "PATCH nodes/$node failed: $(cat "$work/answer" 2>/dev/null)"
  case "$status" in
    2??) marked=$((marked + 1)); echo "nodes/$node: retiredAt $now" >&2 ;;
    404) gone=$((gone + 1)); echo "nodes/$node: gone before it was marked (the node left)" >&2 ;;
    *) fail "PATCH nodes/$node answered $status: $(cat "$work/answer")" ;;
  esac
done < "$work/nodes"

echo "retired $retire: marked $marked node document(s)$([ "$gone" -eq 0 ] || echo ", $gone gone meanwhile")"
