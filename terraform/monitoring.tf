# A dead letter is a message the relay gave up on (no socket after every retry, invalid, or
# expired): someone should look. The alert fires on any message published to the dead-letter
# topic, whether Pub/Sub moved it there or the route function put it there directly.

resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "push relay: message dead-lettered"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Messages published to the dead-letter topic"

    condition_threshold {
      filter          = "resource.type = \"pubsub_topic\" AND resource.labels.topic_id = \"${google_pubsub_topic.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/topic/send_message_operation_count\""
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
      A message was dead-lettered. Each one carries its reason in the `reason` attribute
      (`no_connection_after_retries`, `invalid`, `expired`). Inspect them without consuming:

          gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter_hold.name} --limit=10 --format=json

      Replay after a fix: publish the message data again to the requests topic (see docs/DEPLOY.md).
    EOT
  }

  depends_on = [google_project_service.required]
}
