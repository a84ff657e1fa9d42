# Alerts a team runs the relay with, beside the dead-letter and service-level ones: each reads a metric
# Google Cloud writes itself (Pub/Sub, Cloud Run, uptime checks), so each has data without anything
# the relay exports, and each notifies the same channels as the others.

locals {
  # The retry subscription holds a message at most for its retry window (the route function nacks a
  # message whose user is offline until the last attempt dead-letters it). An oldest unacked message
  # older than this (15 min, in the alert's name) means the route function is not taking them at all:
  # down, failing, or refused.
  retry_backlog_alert_seconds = 900

  # Both functions run on Cloud Run (functions gen2); their 5xx come out of request_count.
  function_services = {
    send = {
      service      = google_cloudfunctions2_function.send.name
      display_name = "push relay (${var.environment}): send function 5xx"
    }
    route = {
      service      = google_cloudfunctions2_function.route.name
      display_name = "push relay (${var.environment}): route function 5xx"
    }
  }
}

resource "google_monitoring_alert_policy" "retry_backlog" {
  display_name          = "push relay (${var.environment}): retry backlog older than 15 min"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "Oldest unacked message on the retry subscriptions"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND (resource.labels.subscription_id = \"${google_pubsub_subscription.router.name}\" OR resource.labels.subscription_id = \"${google_pubsub_subscription.router_high.name}\") AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = local.retry_backlog_alert_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A message has waited on a retry subscription longer than any retry window allows: the route
      function is not taking its pushes. Look at the route function's logs and its 5xx (the alert
      "function 5xx"), and at the subscription's push errors in the Pub/Sub console. Nothing is lost
      meanwhile: Pub/Sub keeps the messages until they are acked or dead-lettered.
    EOT
  }
}

resource "google_monitoring_alert_policy" "function_5xx" {
  for_each = local.function_services

  display_name          = each.value.display_name
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "5xx answers of ${each.value.service}"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${each.value.service}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.1
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The ${each.key} function answered more than 6 requests a minute with a 5xx for 5 minutes. The send
      function answers 503 when Pub/Sub did not take a message in time (the sender sends again); the route
      function's 5xx make Pub/Sub push again and, at the end, dead-letter with reason delivery_failed. Look
      at the function's logs first.
    EOT
  }
}

# The socket node's liveness from outside, on /healthz. Only for a public node: with
# socket_node_public = false Cloud Run's invoker check refuses the checker.
resource "google_monitoring_uptime_check_config" "socket_node" {
  count = var.socket_node_public ? 1 : 0

  display_name = "push relay (${var.environment}): socket node /healthz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/healthz"
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = replace(google_cloud_run_v2_service.socket_node.uri, "https://", "")
    }
  }
}

resource "google_monitoring_alert_policy" "socket_node_uptime" {
  count = var.socket_node_public ? 1 : 0

  display_name          = "push relay (${var.environment}): socket node unreachable"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "/healthz failing from more than one checker location"

    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.labels.check_id = \"${google_monitoring_uptime_check_config.socket_node[0].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.*"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      Cloud Monitoring's uptime checkers could not get a 200 from the socket node's /healthz. Clients
      cannot connect. Look at the Cloud Run service's revisions and logs, and at a rollback
      (scripts/rollback.sh) if a new revision came out just before.
    EOT
  }
}
