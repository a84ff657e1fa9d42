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
      (`no_connection_after_retries`, `invalid`, `expired`, `handed_back`). Inspect them without consuming:

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
# Every deployable writes its metrics to Cloud Monitoring and its spans to Cloud Trace itself, with
# Google's OpenTelemetry exporters (RELAY_CLOUD_TELEMETRY): nothing else to deploy. An instrument such
# as websocket.connection.attempts becomes the metric type
# workload.googleapis.com/websocket.connection.attempts on the generic_task resource, which PromQL names
# workload_googleapis_com:websocket_connection_attempts (no _total suffix; a histogram adds _bucket with
# le, _count and _sum), with the instrument's attributes and service_name, service_instance_id and
# service_version (the Cloud Run revision) as labels. GET /metrics shows the same figures under their
# Prometheus names locally (README, Metrics). The end-to-end suite exports to a fake of the Monitoring
# API and infra-tests' CloudMetricsTest holds each query below to what was written there.
#
# Cloud Monitoring refuses a PromQL alert policy whose metrics do not exist yet, and in a new project
# they do not: every PromQL condition sets disable_metric_validation, so the policies are created on the
# first apply and start evaluating once the metrics arrive (within a minute of the first traffic).

locals {
  # The processes' telemetry settings; var.otel_environment adds or overrides OTEL_* ones.
  telemetry_env = merge({
    RELAY_CLOUD_TELEMETRY   = "true"
    OTEL_TRACES_SAMPLER     = "parentbased_traceidratio"
    OTEL_TRACES_SAMPLER_ARG = tostring(var.trace_sample_ratio)
  }, var.otel_environment)

  # An instrument's name in PromQL, as the exporter writes it (see above).
  metric = "workload_googleapis_com:"

  alert_channels = concat(var.alert_notification_channels,
  google_monitoring_notification_channel.email[*].id)

  promql = {
    connection_success_rate = <<-EOT
      sum(rate(${local.metric}websocket_connection_attempts{monitored_resource="generic_task",outcome="accepted"}[5m]))
      /
      sum(rate(${local.metric}websocket_connection_attempts{monitored_resource="generic_task",outcome!~"auth_failed|origin_refused"}[5m]))
    EOT
    delivery_rate           = <<-EOT
      (sum(rate(${local.metric}websocket_message_delivery{monitored_resource="generic_task",outcome="delivered"}[15m])) or vector(0))
      /
      (
        (sum(rate(${local.metric}websocket_message_delivery{monitored_resource="generic_task",outcome=~"delivered|failed"}[15m])) or vector(0))
        + (sum(rate(${local.metric}relay_dead_letter{monitored_resource="generic_task",reason!="invalid"}[15m])) or vector(0))
      )
    EOT
    connection_time_p99     = "histogram_quantile(0.99, sum by (le) (rate(${local.metric}websocket_connection_time_bucket{monitored_resource=\"generic_task\"}[5m])))"
    route_attempts_p95      = "histogram_quantile(0.95, sum by (le) (rate(${local.metric}relay_route_attempts_bucket{monitored_resource=\"generic_task\"}[15m])))"
    delivery_latency_p99    = "histogram_quantile(0.99, sum by (le) (rate(${local.metric}relay_delivery_latency_bucket{monitored_resource=\"generic_task\"}[5m])))"
  }

  # The seed's service levels: name => query, comparison, what the alert tells the operator.
  relay_alerts = {
    connection_success_rate = {
      display_name = "push relay (${var.environment}): connection success rate below 99 %"
      query        = "(${trimspace(local.promql.connection_success_rate)}) < 0.99"
      duration     = "300s"
      doc          = "Fewer than 99 % of WebSocket connection attempts (client-side refusals such as bad tokens and foreign origins excluded) ended in connection_established. Look at websocket_connection_attempts by outcome: over_capacity means the socket node needs more instances (socket_node_max_instances), registry_failed means Firestore writes fail, draining spikes follow deploys."
    }
    delivery_rate = {
      display_name = "push relay (${var.environment}): delivery rate below 99.5 %"
      query        = "(${trimspace(local.promql.delivery_rate)}) < 0.995"
      duration     = "900s"
      doc          = "Fewer than 99.5 % of messages handled by the socket nodes were written to a socket; the rest failed on the node or were dead-lettered (invalid requests excluded). Check the dead-letter alert, websocket_message_delivery by outcome, and the runbook in the README (Operations)."
    }
    connection_time_p99 = {
      display_name = "push relay (${var.environment}): connection time p99 above 5 s"
      query        = "${local.promql.connection_time_p99} > 5"
      duration     = "300s"
      doc          = "The 99th percentile from WebSocket handshake to connection_established is above 5 s. The connect path waits for its turn among the node's registrations in flight (fewer while Firestore answers slowly, so a reconnect storm after a drain waits here), then for the Firestore commit of the connection: look at Firestore latency and at socket node CPU (cold starts: raise socket_node_min_instances)."
    }
    route_attempts_p95 = {
      display_name = "push relay (${var.environment}): retry attempts p95 above 2"
      query        = "${local.promql.route_attempts_p95} > 2"
      duration     = "900s"
      doc          = "More than 5 % of messages needed three or more deliveries of the retry subscription before a node held their user: users connect late, or the registry lags. Messages still arrive (mailbox drain on connect), but later. Compare relay_mailbox_parked with relay_mailbox_drained."
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
        { title = "Open WebSockets", query = "sum(${local.metric}websocket_connections_active)" },
        { title = "Connection attempts per second by outcome", query = "sum by (outcome) (rate(${local.metric}websocket_connection_attempts[5m]))" },
        { title = "Deliveries per second by outcome", query = "sum by (outcome) (rate(${local.metric}websocket_message_delivery[5m]))" },
        { title = "Dead letters per second by reason", query = "sum by (reason) (rate(${local.metric}relay_dead_letter[5m]))" },
        { title = "Mailbox parked and drained per second", query = "label_replace(sum(rate(${local.metric}relay_mailbox_parked[5m])), \"what\", \"parked\", \"\", \"\") or label_replace(sum(rate(${local.metric}relay_mailbox_drained[5m])), \"what\", \"drained\", \"\", \"\")" },
        { title = "Pub/Sub publishes per accepted message, by part", query = "sum by (part) (rate(${local.metric}relay_pubsub_publishes[15m])) / scalar(sum(rate(${local.metric}relay_messages_accepted[15m])))" },
        { title = "Firestore reads and writes per accepted message, by part", query = "label_replace(sum by (part) (rate(${local.metric}relay_firestore_reads[15m])), \"op\", \"read\", \"\", \"\") / scalar(sum(rate(${local.metric}relay_messages_accepted[15m]))) or label_replace(sum by (part) (rate(${local.metric}relay_firestore_writes[15m])), \"op\", \"write\", \"\", \"\") / scalar(sum(rate(${local.metric}relay_messages_accepted[15m])))" },
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
