# A dead letter is a message the relay gave up on (no socket after every retry, invalid, or
# expired): someone should look. The alert fires on any publish to the dead-letter topic, whether
# Pub/Sub forwarded the message there or the route function put it there directly. It counts
# topic/send_request_count, the current publish metric (topic/send_message_operation_count is
# deprecated): a request carries at least one message, so "more than zero requests" is "more than zero
# messages". Pub/Sub's own guide compares this metric with subscription/dead_letter_message_count to
# confirm its forwarding (https://cloud.google.com/pubsub/docs/monitoring).

resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "push relay (${var.environment}): message dead-lettered"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "Messages published to the dead-letter topic"

    condition_threshold {
      filter          = "resource.type = \"pubsub_topic\" AND resource.labels.topic_id = \"${google_pubsub_topic.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/topic/send_request_count\""
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

      Or list them with reason, user, message id and age, replay them with their message id kept,
      or purge them (README, section Operations):

          GOOGLE_CLOUD_PROJECT=${var.project_id} scripts/dead-letters.sh list
          GOOGLE_CLOUD_PROJECT=${var.project_id} scripts/dead-letters.sh replay --reason no_connection_after_retries
    EOT
  }

  depends_on = [google_project_service.required]
}

# --- The relay's own figures ----------------------------------------------------------------------
# Both deployables export their OpenTelemetry metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is
# set (var.otel_environment). Sent through an OpenTelemetry Collector with the
# googlemanagedprometheus exporter they land in Google Cloud Managed Service for Prometheus under the
# same names that GET /metrics shows locally, so the PromQL below also runs against a local
# Prometheus. The queries are the README's "Metrics" section.
#
# Cloud Monitoring refuses a PromQL alert policy whose metrics do not exist yet, and in a new project
# (or one without otel_environment) they do not: every PromQL condition sets disable_metric_validation,
# so the policies are created on the first apply and start evaluating once the metrics arrive. Without
# metrics export they never fire (no data is not a breach); docs/DEPLOY.md says so.

locals {
  alert_channels = concat(var.alert_notification_channels,
  google_monitoring_notification_channel.email[*].id)

  promql = {
    connection_success_rate = <<-EOT
      sum(rate(websocket_connection_attempts_total{outcome="accepted"}[5m]))
      /
      sum(rate(websocket_connection_attempts_total{outcome!~"auth_failed|origin_refused"}[5m]))
    EOT
    delivery_rate           = <<-EOT
      (sum(rate(websocket_message_delivery_total{outcome="delivered"}[15m])) or vector(0))
      /
      (
        (sum(rate(websocket_message_delivery_total{outcome=~"delivered|failed"}[15m])) or vector(0))
        + (sum(rate(relay_dead_letter_total{reason!="invalid"}[15m])) or vector(0))
      )
    EOT
    connection_time_p99     = "histogram_quantile(0.99, sum by (le) (rate(websocket_connection_time_seconds_bucket[5m])))"
    route_attempts_p95      = "histogram_quantile(0.95, sum by (le) (rate(relay_route_attempts_bucket[15m])))"
    delivery_latency_p99    = "histogram_quantile(0.99, sum by (le) (rate(relay_delivery_latency_seconds_bucket[5m])))"
  }

  # The seed's service levels: name => query, comparison, what the alert tells the operator.
  relay_alerts = {
    connection_success_rate = {
      display_name = "push relay (${var.environment}): connection success rate below 99 %"
      query        = "(${trimspace(local.promql.connection_success_rate)}) < 0.99"
      duration     = "300s"
      doc          = "Fewer than 99 % of WebSocket connection attempts (client-side refusals such as bad tokens and foreign origins excluded) ended in connection_established. Look at websocket_connection_attempts_total by outcome: over_capacity means the socket node needs more instances (socket_node_max_instances), registry_failed means Firestore writes fail, draining spikes follow deploys."
    }
    delivery_rate = {
      display_name = "push relay (${var.environment}): delivery rate below 99.5 %"
      query        = "(${trimspace(local.promql.delivery_rate)}) < 0.995"
      duration     = "900s"
      doc          = "Fewer than 99.5 % of messages handled by the socket nodes were written to a socket; the rest failed on the node or were dead-lettered (invalid requests excluded). Check the dead-letter alert, websocket_message_delivery_total by outcome, and the runbook in the README (Operations)."
    }
    connection_time_p99 = {
      display_name = "push relay (${var.environment}): connection time p99 above 5 s"
      query        = "${local.promql.connection_time_p99} > 5"
      duration     = "300s"
      doc          = "The 99th percentile from WebSocket handshake to connection_established is above 5 s. The connect path waits for the Firestore commit of the connection: look at Firestore latency and at socket node CPU (cold starts: raise socket_node_min_instances)."
    }
    route_attempts_p95 = {
      display_name = "push relay (${var.environment}): retry attempts p95 above 2"
      query        = "${local.promql.route_attempts_p95} > 2"
      duration     = "900s"
      doc          = "More than 5 % of messages needed three or more deliveries of the retry subscription before a node held their user: users connect late, or the registry lags. Messages still arrive (mailbox drain on connect), but later. Compare relay_mailbox_parked_total with relay_mailbox_drained_total."
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  display_name = "push relay (${var.environment}) alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  user_labels = local.labels

  depends_on = [google_project_service.required]
}

resource "google_monitoring_alert_policy" "relay" {
  for_each = local.relay_alerts

  display_name          = each.value.display_name
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = each.value.display_name

    condition_prometheus_query_language {
      query               = each.value.query
      duration            = each.value.duration
      evaluation_interval = "60s"
      # The metrics exist only once the relay exports them (see above).
      disable_metric_validation = true
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = each.value.doc
  }

  depends_on = [google_project_service.required]
}

resource "google_monitoring_dashboard" "relay" {
  dashboard_json = jsonencode({
    displayName = "push relay (${var.environment})"
    mosaicLayout = {
      columns = 12
      tiles = [for i, t in [
        { title = "Connection success rate (alert below 0.99)", query = trimspace(local.promql.connection_success_rate) },
        { title = "Delivery rate (alert below 0.995)", query = trimspace(local.promql.delivery_rate) },
        { title = "Connection time p99, seconds (alert above 5)", query = local.promql.connection_time_p99 },
        { title = "Retry attempts until routed, p95 (alert above 2)", query = local.promql.route_attempts_p95 },
        { title = "Delivery latency sentAt to socket write, p99 seconds", query = local.promql.delivery_latency_p99 },
        { title = "Open WebSockets", query = "sum(websocket_connections_active)" },
        { title = "Connection attempts per second by outcome", query = "sum by (outcome) (rate(websocket_connection_attempts_total[5m]))" },
        { title = "Deliveries per second by outcome", query = "sum by (outcome) (rate(websocket_message_delivery_total[5m]))" },
        { title = "Dead letters per second by reason", query = "sum by (reason) (rate(relay_dead_letter_total[5m]))" },
        { title = "Mailbox parked and drained per second", query = "label_replace(sum(rate(relay_mailbox_parked_total[5m])), \"what\", \"parked\", \"\", \"\") or label_replace(sum(rate(relay_mailbox_drained_total[5m])), \"what\", \"drained\", \"\", \"\")" },
        { title = "Pub/Sub publishes per accepted message, by part", query = "sum by (part) (rate(relay_pubsub_publishes_total[15m])) / scalar(sum(rate(relay_messages_accepted_total[15m])))" },
        { title = "Firestore reads and writes per accepted message, by part", query = "label_replace(sum by (part) (rate(relay_firestore_reads_total[15m])), \"op\", \"read\", \"\", \"\") / scalar(sum(rate(relay_messages_accepted_total[15m]))) or label_replace(sum by (part) (rate(relay_firestore_writes_total[15m])), \"op\", \"write\", \"\", \"\") / scalar(sum(rate(relay_messages_accepted_total[15m])))" },
        ] : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = t.title
          xyChart = {
            dataSets = [{
              plotType        = "LINE"
              timeSeriesQuery = { prometheusQuery = t.query }
            }]
          }
        }
      }]
    }
  })
}
