#!/usr/bin/env bash
# The socket node's canary on Cloud Run traffic splitting (docs/DEPLOY.md, "Staging, canary, promotion
# and rollback").
#
#   canary.sh start   --image IMAGE@sha256:DIGEST --percent N [common options]
#       deploys IMAGE as a new revision of the service with no traffic and the tag (default canary),
#       checks that the revision is ready and runs that image, then gives it N % of the traffic (1-50).
#       Prints the revision's name on stdout: judge-canary.sh and rollback.sh take it.
#   canary.sh promote --revision REVISION [common options]
#       gives REVISION 100 %: as "latest" when it is still the service's latest revision (Terraform's
#       later revisions then take traffic as they come), else pinned by name; then removes the tag.
#
# Common options: --project P (default $GOOGLE_CLOUD_PROJECT), --region R (default $CLOUDSDK_RUN_REGION),
# --service S (default $RELAY_SOCKET_NODE_SERVICE; Terraform's output socket_node_service), --tag T.
#
# The service must exist: Terraform makes it, with every setting but the image; canary.sh only
# changes the image, which `gcloud run deploy` copies into a new revision with everything else.
# Terraform ignores the service's traffic (terraform/cloud_run.tf), so neither undoes the other.
set -euo pipefail

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "canary.sh: $*" >&2
  exit 1
}

[ $# -ge 1 ] || usage
action="$1"
shift
if [ "$action" != start ] && [ "$action" != promote ]; then
  [ "$action" = -h ] || [ "$action" = --help ] || echo "canary.sh: unknown action '$action'" >&2
  usage
fi

project="${GOOGLE_CLOUD_PROJECT:-}"
region="${CLOUDSDK_RUN_REGION:-}"
service="${RELAY_SOCKET_NODE_SERVICE:-}"
tag=canary
image=""
percent=""
revision=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fail "$1 needs a value"
  case "$1" in
    --project) project="$2" ;;
    --region) region="$2" ;;
    --service) service="$2" ;;
    --tag) tag="$2" ;;
    --image) image="$2" ;;
    --percent) percent="$2" ;;
    --revision) revision="$2" ;;
    *) echo "canary.sh: unknown option $1" >&2; usage ;;
  esac
  shift 2
done

[ -n "$project" ] || fail "no project: --project or GOOGLE_CLOUD_PROJECT"
[ -n "$region" ] || fail "no region: --region or CLOUDSDK_RUN_REGION"
[ -n "$service" ] || fail "no service: --service or RELAY_SOCKET_NODE_SERVICE (terraform output socket_node_service)"
[[ "$tag" =~ ^[a-z][a-z0-9-]{0,45}$ ]] || fail "tag '$tag' is not a Cloud Run tag (lower case letters, digits, -)"

run() { gcloud run "$@" --project="$project" --region="$region" --quiet; }

if [ "$action" = start ]; then
  [[ "$image" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]] \
    || fail "--image must be pinned by digest (…@sha256:<64 hex digits>): a canary is judged on exactly one artifact"
  [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -ge 1 ] && [ "$percent" -le 50 ] \
    || fail "--percent must be a whole number from 1 to 50, not '$percent'"
  run services describe "$service" --format='value(metadata.name)' > /dev/null \
    || fail "service $service not found in $project/$region: the first deploy is Terraform's (cloudbuild-promote.yaml with _CANARY_PERCENT=0)"

  echo "deploying $image to $service with no traffic, tag $tag" >&2
  run deploy "$service" --image="$image" --no-traffic --tag="$tag" >&2
  created="$(run services describe "$service" --format='value(status.latestCreatedRevisionName)')"
  ready="$(run services describe "$service" --format='value(status.latestReadyRevisionName)')"
  [ -n "$created" ] && [ "$created" = "$ready" ] \
    || fail "the new revision '$created' is not ready (latest ready: '$ready'): it gets no traffic; see its logs"
  runs="$(run revisions describe "$created" --format='value(spec.containers[0].image)')"
  [ "$runs" = "$image" ] \
    || fail "revision $created runs '$runs', not $image: did someone else deploy meanwhile? nothing was shifted"

  run services update-traffic "$service" --to-tags="$tag=$percent" >&2
  echo "revision $created has $percent % of $service's traffic, tag $tag; judge it with judge-canary.sh --revision $created" >&2
  echo "$created"
else
  [[ "$revision" =~ ^[a-z][a-z0-9-]{0,62}$ ]] || fail "--revision must be a revision name, not '$revision'"
  latest="$(run services describe "$service" --format='value(status.latestCreatedRevisionName)')"
  if [ "$revision" = "$latest" ]; then
    run services update-traffic "$service" --to-latest >&2
    echo "$revision has all of $service's traffic, as its latest revision" >&2
  else
    run services update-traffic "$service" --to-revisions="$revision=100" >&2
    echo "$revision has all of $service's traffic, pinned by name: $latest (newer) serves nothing until promoted" >&2
  fi
  run services update-traffic "$service" --remove-tags="$tag" >&2
fi
