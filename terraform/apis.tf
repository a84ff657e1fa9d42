locals {
  required_apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudtrace.googleapis.com",
    "firestore.googleapis.com",
    # Firebase Security Rules: the deny-all ruleset for client SDKs (firestore_rules.tf).
    "firebaserules.googleapis.com",
    "iam.googleapis.com",
    # The IAM Service Account Credentials API: the build's smoke test mints the deployer's identity
    # token for the send function through it (cloudbuild.yaml, smoke-credentials).
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "required" {
  for_each = local.required_apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
