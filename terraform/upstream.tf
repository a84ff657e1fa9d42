# Upstream: what clients send their backend on their sockets (publish frames), and every socket's
# connected and disconnected events, on one topic (upstreamTopic in config/topology.json). The
# socket nodes publish to it under their project-wide role (iam.tf). A backend subscribes on its own, or names
# an HTTPS endpoint in upstream_push_endpoint for a push subscription with OIDC, retries and a dead
# letter of its own (upstream messages never mix with the relay's dead letters).

resource "google_pubsub_topic" "upstream" {
  name   = local.topology.upstreamTopic
  labels = local.labels

  message_retention_duration = "${local.topology.messageRetentionSeconds}s"

  depends_on = [google_project_service.required]
}

locals {
  upstream_push = var.upstream_push_endpoint == "" ? 0 : 1
}

# The identity Pub/Sub signs its pushes to the backend with; grant it your backend's invoker role
# (its email is the output upstream_push_identity). Nothing in this project is granted to it.
resource "google_service_account" "upstream_push" {
  count = local.upstream_push

  account_id   = "relay-backend-push-${var.environment}"
  display_name = "push relay (${var.environment}): upstream push identity (to the backend)"

  depends_on = [google_project_service.required]
}

resource "google_service_account_iam_member" "upstream_push_token_creator_pubsub_agent" {
  count = local.upstream_push

  service_account_id = google_service_account.upstream_push[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

resource "google_pubsub_topic" "upstream_dead_letter" {
  count = local.upstream_push

  name   = "${local.topology.upstreamTopic}-dead-letter"
  labels = local.labels

  depends_on = [google_project_service.required]
}

# Keeps what the backend never accepted, for inspection and replay.
resource "google_pubsub_subscription" "upstream_dead_letter_hold" {
  count = local.upstream_push

  name   = "${local.topology.upstreamTopic}-dead-letter-hold"
  topic  = google_pubsub_topic.upstream_dead_letter[0].id
  labels = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${local.topology.messageRetentionSeconds}s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

# Pushes everything on the upstream topic to the backend, one connection's messages in order
# (ordering key: the connection id). A 2xx acks; anything else is retried with backoff, and after
# upstream_push_max_attempts the message goes to the upstream dead letter, which alerts.
resource "google_pubsub_subscription" "upstream_push" {
  count = local.upstream_push

  name   = "${local.topology.upstreamTopic}-push"
  topic  = google_pubsub_topic.upstream.id
  labels = local.labels

  ack_deadline_seconds       = 30
  message_retention_duration = "${local.topology.messageRetentionSeconds}s"
  enable_message_ordering    = true
  filter                     = var.upstream_push_filter

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.upstream_dead_letter[0].id
    max_delivery_attempts = var.upstream_push_max_attempts
  }

  push_config {
    push_endpoint = var.upstream_push_endpoint

    oidc_token {
      service_account_email = google_service_account.upstream_push[0].email
      audience              = var.upstream_push_audience == "" ? var.upstream_push_endpoint : var.upstream_push_audience
    }
  }

  depends_on = [
    google_service_account_iam_member.upstream_push_token_creator_pubsub_agent,
    time_sleep.iam_propagation,
  ]
}

# The Pub/Sub service agent moves undeliverable messages: publish on the dead letter, ack on the source.
resource "google_pubsub_topic_iam_member" "upstream_dead_letter_publisher_pubsub_agent" {
  count = local.upstream_push

  topic  = google_pubsub_topic.upstream_dead_letter[0].name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "upstream_push_subscriber_pubsub_agent" {
  count = local.upstream_push

  subscription = google_pubsub_subscription.upstream_push[0].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_monitoring_alert_policy" "upstream_dead_letter" {
  count = local.upstream_push

  display_name          = "push relay (${var.environment}): upstream message not accepted by the backend"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "Messages published to the upstream dead-letter topic"

    condition_threshold {
      filter          = "resource.type = \"pubsub_topic\" AND resource.labels.topic_id = \"${google_pubsub_topic.upstream_dead_letter[0].name}\" AND metric.type = \"pubsub.googleapis.com/topic/send_request_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The backend at the upstream push endpoint did not accept a client message or a connection event
      within ${var.upstream_push_max_attempts} attempts. They are kept, with their attributes (type,
      user_id, connection_id), on ${local.topology.upstreamTopic}-dead-letter-hold:

          gcloud pubsub subscriptions pull ${local.topology.upstreamTopic}-dead-letter-hold --limit=10 --format=json

      Fix the backend, then replay them by publishing their data and attributes to ${local.topology.upstreamTopic}.
    EOT
  }
}
