output "request_topic_id" {
  description = "Full id of the requests topic: publish send requests here with any Pub/Sub client."
  value       = google_pubsub_topic.requests.id
}

output "request_topic_name" {
  description = "Short name of the requests topic."
  value       = google_pubsub_topic.requests.name
}

output "send_url" {
  description = "Base URL of the send function (POST /v1/messages with an identity token for this URL as audience)."
  value       = google_cloudfunctions2_function.send.service_config[0].uri
}

output "socket_node_url" {
  description = "HTTPS URL of the socket node; clients connect to wss://<host>/ws."
  value       = google_cloud_run_v2_service.socket_node.uri
}

output "socket_node_ws_url" {
  description = "WebSocket URL clients open."
  value       = "${replace(google_cloud_run_v2_service.socket_node.uri, "https://", "wss://")}/ws"
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead letters for inspection and replay."
  value       = google_pubsub_subscription.dead_letter_hold.id
}

output "send_function_service_account" {
  description = "Identity the send function runs as."
  value       = google_service_account.send_function.email
}

output "allowed_origins" {
  description = "Origins the socket node admits (empty: any); the smoke test presents the first."
  value       = var.allowed_origins
}

output "upstream_topic_id" {
  description = "Full id of the upstream topic: client publishes and connection events for your backend (README, Upstream)."
  value       = google_pubsub_topic.upstream.id
}

output "upstream_push_identity" {
  description = "Email of the identity upstream pushes carry an OIDC token of: grant it your backend's invoker role. Empty without upstream_push_endpoint."
  value       = local.upstream_push == 1 ? google_service_account.upstream_push[0].email : ""
}

output "environment" {
  description = "The environment this state deploys (staging or production)."
  value       = var.environment
}

output "socket_node_service" {
  description = "Cloud Run service of the socket node: what scripts/deploy/canary.sh, judge-canary.sh and scripts/rollback.sh take as --service."
  value       = google_cloud_run_v2_service.socket_node.name
}

output "socket_node_image" {
  description = "The socket node image this apply was given; in staging the digest that production is promoted to (docs/DEPLOY.md)."
  value       = var.socket_node_image
}

output "functions_source" {
  description = "The functions deployable both functions were built from, gs://BUCKET/functions-<md5>.zip: what production is promoted to."
  value       = "gs://${google_storage_bucket.functions_source.name}/${google_storage_bucket_object.functions_source.name}"
}

output "send_function_service" {
  description = "Cloud Run service that serves the send function (for gcloud run services update --update-env-vars, docs/DEPLOY.md, flags)."
  value       = google_cloudfunctions2_function.send.name
}

output "token_audience" {
  description = "The aud claim client tokens must carry for the socket node; empty when none is required."
  value       = lookup(var.auth_environment, "RELAY_JWT_AUDIENCE", var.token_audience)
}
