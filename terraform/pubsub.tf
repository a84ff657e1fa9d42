# Every name, backoff bound and attempt count below comes from local.topology
# (config/topology.json), the file the Java code and the local stack read too.
#
# There is no shared deliveries topic: each socket node incarnation creates its own topic
# <deliveriesTopicPrefix><nodeId> and an unfiltered subscription of the same name when it starts,
# and a live node's cleanup deletes both once that node drained or died. Terraform does not
# manage them; iam.tf grants what creating, deleting and publishing to them takes.

resource "google_pubsub_topic" "requests" {
  name   = local.topology.requestsTopic
  labels = local.labels

  depends_on = [google_project_service.required]
}

# High priority requests are retried on a topic and subscription of their own, on a shorter schedule
# with more attempts (highPriority in config/topology.json).
resource "google_pubsub_topic" "requests_high" {
  name   = local.topology.highPriority.requestsTopic
  labels = local.labels

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "dead_letter" {
  name   = local.topology.deadLetterTopic
  labels = local.labels

  depends_on = [google_project_service.required]
}

# The retry subscription: Pub/Sub pushes every request to the route function, which answers 2xx
# when the message is delivered (or parked for good) and an error to have it retried with
# exponential backoff. After maxDeliveryAttempts the message moves to the dead-letter topic.
resource "google_pubsub_subscription" "router" {
  name   = local.topology.routerSubscription
  topic  = google_pubsub_topic.requests.id
  labels = local.labels

  ack_deadline_seconds       = local.topology.routerAckDeadlineSeconds
  message_retention_duration = "${local.topology.messageRetentionSeconds}s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "${local.topology.retry.minBackoffSeconds}s"
    maximum_backoff = "${local.topology.retry.maxBackoffSeconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.topology.retry.maxDeliveryAttempts
  }

  push_config {
    push_endpoint = google_cloudfunctions2_function.route.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.router_push.email
      audience              = google_cloudfunctions2_function.route.service_config[0].uri
    }
  }

  # Pushes start as soon as the subscription exists: let them be accepted from the first one (the
  # invoker grant, and the wait for the push identity's token grant to the Pub/Sub service agent).
  depends_on = [
    google_cloud_run_v2_service_iam_member.route_invoker_router_push,
    time_sleep.iam_propagation,
  ]
}

# The high priority retry subscription: the same push to the route function, its own backoff and
# attempts, the same dead-letter topic.
resource "google_pubsub_subscription" "router_high" {
  name   = local.topology.highPriority.routerSubscription
  topic  = google_pubsub_topic.requests_high.id
  labels = local.labels

  ack_deadline_seconds       = local.topology.routerAckDeadlineSeconds
  message_retention_duration = "${local.topology.messageRetentionSeconds}s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "${local.topology.highPriority.retry.minBackoffSeconds}s"
    maximum_backoff = "${local.topology.highPriority.retry.maxBackoffSeconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.topology.highPriority.retry.maxDeliveryAttempts
  }

  push_config {
    push_endpoint = google_cloudfunctions2_function.route.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.router_push.email
      audience              = google_cloudfunctions2_function.route.service_config[0].uri
    }
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.route_invoker_router_push,
    time_sleep.iam_propagation,
  ]
}

# Keeps dead letters for inspection and replay (pull). It never expires. Acknowledged messages are
# not retained: a purge (scripts/dead-letters.sh purge) acknowledges, and what it purged is then gone,
# not kept for a seek for the retention's seven days.
resource "google_pubsub_subscription" "dead_letter_hold" {
  name   = local.topology.deadLetterHoldSubscription
  topic  = google_pubsub_topic.dead_letter.id
  labels = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${local.topology.messageRetentionSeconds}s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}

# The Pub/Sub service agent forwards undeliverable messages: it must publish to the dead-letter
# topic and acknowledge them on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher_pubsub_agent" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "router_subscriber_pubsub_agent" {
  subscription = google_pubsub_subscription.router.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "router_high_subscriber_pubsub_agent" {
  subscription = google_pubsub_subscription.router_high.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
