# Security rules for client SDKs: none of them may touch the relay's data (terraform/firestore.rules).
# The relay's own accounts use the server client libraries under IAM, which rules do not apply to. A
# new Firestore database in Native mode may start in test mode (open to every client for 30 days) or
# with rules someone else released: this release replaces them with deny-all.

resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/firestore.rules")
    }
  }

  depends_on = [google_project_service.required, google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  project = var.project_id
  name    = "cloud.firestore"
  # a changed file makes a new ruleset, and this release then points at it
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}
