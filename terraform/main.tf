data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # The one source of truth for topic and subscription names, backoff bounds and delivery
  # attempts. The Java code and the local stack read the same file; never copy its values here.
  topology = jsondecode(file("${path.module}/../config/topology.json"))

  # Google's own identity for Pub/Sub in this project: it moves messages to the dead-letter topic
  # and acknowledges them on the source subscription, so it needs grants on both.
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  labels = merge({ app = "push-relay" }, var.labels)
}
