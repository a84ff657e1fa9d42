# One service account per part that runs code or signs requests, each with only what it uses. Account
# ids are at most 30 characters: relay-<part>-<environment> fits with "production" (10).

resource "google_service_account" "socket_node" {
  account_id   = "relay-node-${var.environment}"
  display_name = "push relay (${var.environment}): socket node (Cloud Run)"

  depends_on = [google_project_service.required]
}

resource "google_service_account" "send_function" {
  account_id   = "relay-send-${var.environment}"
  display_name = "push relay (${var.environment}): send function"

  depends_on = [google_project_service.required]
}

resource "google_service_account" "route_function" {
  account_id   = "relay-route-${var.environment}"
  display_name = "push relay (${var.environment}): route function"

  depends_on = [google_project_service.required]
}

# The identity Pub/Sub signs its pushes with (OIDC token); it may only invoke the route function.
resource "google_service_account" "router_push" {
  account_id   = "relay-router-push-${var.environment}"
  display_name = "push relay (${var.environment}): retry subscription push identity"

  depends_on = [google_project_service.required]
}

# Cloud Build runs the functions' source builds as this account instead of a default one.
resource "google_service_account" "functions_build" {
  account_id   = "relay-build-${var.environment}"
  display_name = "push relay (${var.environment}): builds the functions"

  depends_on = [google_project_service.required]
}

# Firestore's roles are granted on the project and would reach each of its databases; an IAM condition
# on the database's name keeps the relay's accounts to its (default) database, where the registry, the
# mailboxes and the revocations live (https://cloud.google.com/firestore/docs/manage-databases, per-database
# access). An app's named databases in the same project stay out of their reach.
locals {
  # The accounts that run the relay's code, by part: each logs, and writes metrics and spans.
  runtime_accounts = {
    socket_node    = google_service_account.socket_node.member
    send_function  = google_service_account.send_function.member
    route_function = google_service_account.route_function.member
  }

  relay_database_condition = "resource.name == \"projects/${var.project_id}/databases/(default)\""
}

# --- socket node -------------------------------------------------------------------------------

# Each node incarnation creates its own delivery topic and its own (unfiltered) subscription on
# it when it starts, both named <prefix><nodeId> with the prefixes deliveriesTopicPrefix and
# deliveriesSubscriptionPrefix of config/topology.json. A draining node deletes its topic first (so
# late publishes fail with NOT_FOUND and are retried); a live node's cleanup then takes the drained,
# crashed or fenced node: it deletes the topic if it is still there, sweeps the subscription until it
# has been empty for longer than the ack deadline (pull; a message whose user holds a socket on a live
# node goes straight to that node's delivery topic, any other back to the requests topic; acknowledge)
# and only then deletes it.
#
# These names only exist at run time, and Pub/Sub IAM has no IAM Conditions on resource names
# (only Pub/Sub Lite does: https://cloud.google.com/iam/docs/conditions-resource-attributes),
# so the grant cannot be narrowed to the prefix: it is a custom role on the project, and as such
# it would reach the project's other topics and subscriptions too. The node code only ever
# creates, reads, consumes and deletes topics and subscriptions whose names start with those
# prefixes from config/topology.json. It publishes to live nodes' delivery topics (the sweep above),
# to the requests topics (a socket that closed unacked hands its messages back) and to the upstream
# topic (client publishes, connection events): the first exist only at run time, so publishing too is
# granted here, on the project, and covers the others (infra-tests' PermissionLedgerTest found the
# sweep's publishes and refuses a grant that no call needs). It lists the project's subscriptions every
# few minutes, for delivery subscriptions whose node document is gone (OrphanChannels).
resource "google_project_iam_custom_role" "socket_node_subscriptions" {
  role_id     = "pushRelaySocketNodeSubscriptions_${var.environment}"
  title       = "push relay socket node (${var.environment}): own delivery topic and subscription"
  description = "Create, read and delete the node's own delivery topic; create, read, consume and delete its own subscription on it; list subscriptions, for orphaned ones; publish to live nodes' delivery topics, the requests and upstream topics."
  permissions = [
    "pubsub.subscriptions.consume",
    "pubsub.subscriptions.create",
    "pubsub.subscriptions.delete",
    "pubsub.subscriptions.get",
    "pubsub.subscriptions.list",
    "pubsub.topics.attachSubscription",
    "pubsub.topics.create",
    "pubsub.topics.delete",
    "pubsub.topics.get",
    "pubsub.topics.publish",
  ]

  depends_on = [google_project_service.required]
}

resource "google_project_iam_member" "socket_node_subscriptions" {
  project = var.project_id
  role    = google_project_iam_custom_role.socket_node_subscriptions.id
  member  = google_service_account.socket_node.member
}

# Registry writes (connections, node heartbeat), the mailbox drain, and the read of a user's
# revocation at each handshake and renewal.
resource "google_project_iam_member" "socket_node_datastore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.socket_node.member

  condition {
    title       = "the relay's database only"
    description = "Firestore's roles reach every database of the project; this one the relay's (default)."
    expression  = local.relay_database_condition
  }

  # A grant whose condition changes is replaced: the new one first, so the account is never without it.
  lifecycle {
    create_before_destroy = true
  }
}

# In hs256 mode only: a node that verifies tokens with a JWK set has no use for the key.
resource "google_secret_manager_secret_iam_member" "jwt_secret_socket_node" {
  count = local.hs256 ? 1 : 0

  secret_id = var.jwt_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.socket_node.member

  depends_on = [google_project_service.required]
}

# The key of the pseudonyms user ids take in the logs: every part that logs one reads it.
resource "google_secret_manager_secret_iam_member" "log_key" {
  for_each = local.runtime_accounts

  secret_id = var.log_key_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value

  depends_on = [google_project_service.required]
}

# --- send function -----------------------------------------------------------------------------

# The direct route: a message for a user who holds sockets goes straight to their nodes' own
# delivery topics (deliveriesTopicPrefix + nodeId in config/topology.json). Those topics are
# created and deleted at run time by the nodes, and Pub/Sub has no IAM Conditions on resource
# names, so publishing to them can only be granted on the project. roles/pubsub.publisher holds
# pubsub.topics.publish alone: the function can publish, never read or change a topic. The same grant
# covers its publishes to the requests topics; a topic-level grant beside it would add nothing
# (infra-tests' PermissionLedgerTest refuses a grant that no call needs).
resource "google_project_iam_member" "send_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = google_service_account.send_function.member
}

# Presence (is user U online?) and the direct route read the registry, and the direct route parks a
# message for a user with no live node in the user's mailbox before it answers (ParkFirst, a create in
# mailboxes/{userId}/pending, or a transaction when the entry exists already): reads and writes. The
# disconnect endpoint writes revocations/{userId} (a transaction) and publishes its control deliveries
# to the nodes' topics under the project-wide publisher grant above.
resource "google_project_iam_member" "send_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.send_function.member

  condition {
    title       = "the relay's database only"
    description = "Firestore's roles reach every database of the project; this one the relay's (default)."
    expression  = local.relay_database_condition
  }

  # A grant whose condition changes is replaced: the new one first, so the account is never without it.
  lifecycle {
    create_before_destroy = true
  }
}

# --- route function ----------------------------------------------------------------------------

# A routed request goes to the delivery topic of each node holding the user. Those topics are
# created and deleted at run time by the nodes (deliveriesTopicPrefix + nodeId), and Pub/Sub has
# no IAM Conditions on resource names, so publishing to them is granted on the project; a publish
# to a node that has just drained fails with NOT_FOUND and the request is retried. The same grant
# covers the requests topics (a request for many users fans out into one per user) and the dead-letter
# topic (invalid messages go there with a reason).
resource "google_project_iam_member" "route_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = google_service_account.route_function.member
}

# Registry lookups and mailbox writes.
resource "google_project_iam_member" "route_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.route_function.member

  condition {
    title       = "the relay's database only"
    description = "Firestore's roles reach every database of the project; this one the relay's (default)."
    expression  = local.relay_database_condition
  }

  # A grant whose condition changes is replaced: the new one first, so the account is never without it.
  lifecycle {
    create_before_destroy = true
  }
}

# --- telemetry ---------------------------------------------------------------------------------

# Each deployable writes its own metrics to Cloud Monitoring and its spans to Cloud Trace
# (monitoring.tf, RELAY_CLOUD_TELEMETRY). Both are project-level resources: the metric writer role holds
# the time series writes and the creation of a new metric's descriptor, the trace agent the span writes.
resource "google_project_iam_member" "telemetry_metric_writer" {
  for_each = local.runtime_accounts

  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = each.value
}

resource "google_project_iam_member" "telemetry_trace_agent" {
  for_each = local.runtime_accounts

  project = var.project_id
  role    = "roles/cloudtrace.agent"
  member  = each.value
}

# --- Pub/Sub push identity ---------------------------------------------------------------------

# Projects created before April 2021 need this for Pub/Sub to mint OIDC tokens; it is granted on
# the push identity alone, never on the project.
resource "google_service_account_iam_member" "router_push_token_creator_pubsub_agent" {
  service_account_id = google_service_account.router_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# --- functions build ---------------------------------------------------------------------------

resource "google_project_iam_member" "functions_build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.functions_build.member
}

# The build reads the functions' source: from the bucket functions.tf uploads it to, and from the
# buckets Cloud Run functions copies sources to (gcf-v2-sources-<project number>-<region>, and
# gcf-v2-uploads-… for gcloud deploys), which it creates itself on the first deploy and so cannot be
# named in a bucket-level grant beforehand. The condition keeps every other bucket out of reach, the
# Terraform state bucket among them.
resource "google_project_iam_member" "functions_build_storage" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.functions_build.member

  condition {
    title       = "functions source buckets only"
    description = "The relay's functions source bucket and the gcf-v2-* buckets of Cloud Run functions."
    expression = join(" || ", [
      "resource.name == \"projects/_/buckets/${google_storage_bucket.functions_source.name}\"",
      "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.functions_source.name}/\")",
      "resource.name.startsWith(\"projects/_/buckets/gcf-v2-\")",
    ])
  }
}

# --- first-apply waits ---------------------------------------------------------------------------

# The Pub/Sub service agent exists in a project only once something asked for it, and right after
# pubsub.googleapis.com is enabled it may not exist yet: grants to it then fail with "Service account
# … does not exist". Ask for it explicitly (google_project_service_identity is in the google-beta
# provider only, in 6.50) and grant to it only through the wait below (local.pubsub_service_agent).
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.required]
}

# A new service agent takes a little while before IAM accepts grants to it.
resource "time_sleep" "pubsub_service_agent" {
  create_duration = "30s"

  triggers = {
    member = google_project_service_identity.pubsub.member
  }
}

# IAM grants take effect within about a minute, occasionally longer, and the first apply uses them at
# once: Cloud Run checks the node's secret access when it deploys a revision, whose node then creates its
# delivery topic and subscription at start; the functions build runs as relay-build-<environment>; pushes
# carry tokens the Pub/Sub service agent mints. The node, the functions and the retry subscription wait
# for this, which waits again (on a later apply) only when one of these grants changes. A grant that is
# still not seen after the wait fails the apply, and a rerun picks up where it stopped (docs/DEPLOY.md).
resource "time_sleep" "iam_propagation" {
  create_duration = "60s"

  triggers = {
    socket_node = join(",", [
      google_project_iam_member.socket_node_subscriptions.id,
      google_project_iam_member.socket_node_datastore.id,
      join(",", google_secret_manager_secret_iam_member.jwt_secret_socket_node.*.id),
      google_secret_manager_secret_iam_member.log_key["socket_node"].id,
      google_project_iam_member.telemetry_metric_writer["socket_node"].id,
      google_project_iam_member.telemetry_trace_agent["socket_node"].id,
    ])
    send_function = join(",", [
      google_project_iam_member.send_pubsub_publisher.id,
      google_project_iam_member.send_datastore_user.id,
      google_secret_manager_secret_iam_member.log_key["send_function"].id,
      google_project_iam_member.telemetry_metric_writer["send_function"].id,
      google_project_iam_member.telemetry_trace_agent["send_function"].id,
    ])
    route_function = join(",", [
      google_project_iam_member.route_pubsub_publisher.id,
      google_project_iam_member.route_datastore_user.id,
      google_secret_manager_secret_iam_member.log_key["route_function"].id,
      google_project_iam_member.telemetry_metric_writer["route_function"].id,
      google_project_iam_member.telemetry_trace_agent["route_function"].id,
    ])
    functions_build = join(",", concat(
      [for g in google_project_iam_member.functions_build : g.id],
      [google_project_iam_member.functions_build_storage.id],
    ))
    push_tokens          = google_service_account_iam_member.router_push_token_creator_pubsub_agent.id
    upstream_push_tokens = join(",", google_service_account_iam_member.upstream_push_token_creator_pubsub_agent[*].id)
  }
}
