locals {
  # How the socket node verifies client tokens (auth_environment's RELAY_AUTH_MODE; hs256 when unset).
  hs256 = lower(lookup(var.auth_environment, "RELAY_AUTH_MODE", "hs256")) == "hs256"

  # The one source of truth for topic and subscription names, backoff bounds and delivery
  # attempts. The Java code and the local stack read the same file; never copy its values here.
  topology = jsondecode(file("${path.module}/../config/topology.json"))

  # Google's own identity for Pub/Sub in this project (service-N@gcp-sa-pubsub.iam.gserviceaccount.com):
  # it moves messages to the dead-letter topic, acknowledges them on the source subscription and mints
  # the push subscription's OIDC tokens, so it needs grants on all three. Read through the wait in
  # iam.tf, so that every grant to it comes after the agent exists and IAM can see it.
  pubsub_service_agent = time_sleep.pubsub_service_agent.triggers["member"]

  # The environment goes into every name Terraform chooses (services, functions, accounts, the custom
  # role, the source bucket, alert policies, the dashboard), so that staging and production never share
  # one. The names the code reads from config/topology.json (topics, subscriptions) and the Firestore
  # (default) database cannot carry it: each environment has a project of its own (docs/DEPLOY.md).
  labels = merge({ app = "push-relay", environment = var.environment }, var.labels)
}
