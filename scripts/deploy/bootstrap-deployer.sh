#!/usr/bin/env bash
# Makes the account Cloud Build deploys the relay as, relay-deployer, and grants it what it needs
# (docs/DEPLOY.md, step 3):
#   - on the project, the roles below: one for each kind of resource terraform/ creates and for what
#     the build itself does. infra-tests/deployer-roles.json says why each is needed, and
#     DeployerRolesTest holds this list to that table both ways;
#   - on the account itself, roles/iam.serviceAccountOpenIdTokenCreator: the build's smoke test calls
#     the send function with an identity token of the deployer (gcloud auth print-identity-token).
#
# A new account is not visible to IAM everywhere at once: for a minute or so, a grant to it can fail
# with "Service account ... does not exist". So the script waits for the account, and each grant is
# tried again with a doubling wait (2 s up to 64 s, about two minutes in all). A grant that still
# fails stops the script with gcloud's own message and a non-zero exit: no role goes missing unnoticed.
# Running it again is safe: an existing account is kept, and granting a role it holds changes nothing.
#
# Usage: PROJECT_ID=my-project scripts/deploy/bootstrap-deployer.sh
#        (as someone who may create service accounts and grant roles in the project: a project owner)
set -euo pipefail

project="${PROJECT_ID:?set PROJECT_ID to the project the relay goes into}"
deployer="relay-deployer@$project.iam.gserviceaccount.com"

roles=(
  roles/serviceusage.serviceUsageAdmin
  roles/iam.serviceAccountAdmin
  roles/iam.roleAdmin
  roles/resourcemanager.projectIamAdmin
  roles/iam.serviceAccountUser
  roles/pubsub.admin
  roles/datastore.owner
  roles/storage.admin
  roles/cloudfunctions.admin
  roles/run.admin
  roles/secretmanager.admin
  roles/monitoring.alertPolicyEditor
  roles/monitoring.notificationChannelEditor
  roles/monitoring.dashboardEditor
  roles/monitoring.uptimeCheckConfigEditor
  roles/firebaserules.admin
  roles/artifactregistry.writer
  roles/logging.logWriter
)

# Runs a command until it succeeds, up to 7 attempts with 2, 4, 8, 16, 32 and 64 s between them.
# What it prints is kept; a failure shows its last line while waiting, and all of it at the end.
attempt() {
  local wait=2 tries=1 out
  out="$(mktemp)"
  until "$@" > "$out" 2>&1; do
    if [ "$tries" -ge 7 ]; then
      cat "$out" >&2
      rm -f "$out"
      echo "failed $tries times, giving up: $*" >&2
      return 1
    fi
    echo "not yet ($(tail -n 1 "$out")); again in ${wait}s" >&2
    sleep "$wait"
    wait=$((wait * 2))
    tries=$((tries + 1))
  done
  rm -f "$out"
}

if gcloud iam service-accounts describe "$deployer" --project="$project" > /dev/null 2>&1; then
  echo "$deployer exists"
else
  gcloud iam service-accounts create relay-deployer --project="$project" --display-name="push relay deployer"
fi
attempt gcloud iam service-accounts describe "$deployer" --project="$project"

for role in "${roles[@]}"; do
  attempt gcloud projects add-iam-policy-binding "$project" --member="serviceAccount:$deployer" \
    --role="$role" --condition=None --quiet
  echo "granted $role on $project"
done

attempt gcloud iam service-accounts add-iam-policy-binding "$deployer" --project="$project" \
  --member="serviceAccount:$deployer" --role=roles/iam.serviceAccountOpenIdTokenCreator --quiet
echo "granted roles/iam.serviceAccountOpenIdTokenCreator on $deployer itself"
