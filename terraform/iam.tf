# One service account per part that runs code or signs requests, each with only what it uses.

resource "google_service_account" "socket_node" {
  account_id   = "relay-socket-node"
  display_name = "push relay: socket node (Cloud Run)"

  depends_on = [google_project_service.required]
}

resource "google_service_account" "send_function" {
  account_id   = "relay-send-function"
  display_name = "push relay: send function"

  depends_on = [google_project_service.required]
}

resource "google_service_account" "route_function" {
  account_id   = "relay-route-function"
  display_name = "push relay: route function"

  depends_on = [google_project_service.required]
}

# The identity Pub/Sub signs its pushes with (OIDC token); it may only invoke the route function.
resource "google_service_account" "router_push" {
  account_id   = "relay-router-push"
  display_name = "push relay: retry subscription push identity"

  depends_on = [google_project_service.required]
}

# Cloud Build runs the functions' source builds as this account instead of a default one.
resource "google_service_account" "functions_build" {
  account_id   = "relay-functions-build"
  display_name = "push relay: builds the functions"

  depends_on = [google_project_service.required]
}

# --- socket node -------------------------------------------------------------------------------

# Each node creates its own filtered subscription on the deliveries topic when it starts and
# deletes it when it stops, so it needs these subscription permissions on the project.
resource "google_project_iam_custom_role" "socket_node_subscriptions" {
  role_id     = "pushRelaySocketNodeSubscriptions"
  title       = "push relay socket node: own delivery subscription"
  description = "Create, read, consume and delete the node's own subscription on the deliveries topic."
  permissions = [
    "pubsub.subscriptions.consume",
    "pubsub.subscriptions.create",
    "pubsub.subscriptions.delete",
    "pubsub.subscriptions.get",
  ]

  depends_on = [google_project_service.required]
}

resource "google_project_iam_member" "socket_node_subscriptions" {
  project = var.project_id
  role    = google_project_iam_custom_role.socket_node_subscriptions.id
  member  = google_service_account.socket_node.member
}

# Attaching a subscription to a topic is checked on the topic (pubsub.topics.attachSubscription).
resource "google_pubsub_topic_iam_member" "deliveries_attach_socket_node" {
  topic  = google_pubsub_topic.deliveries.name
  role   = "roles/pubsub.subscriber"
  member = google_service_account.socket_node.member
}

# A delivery whose socket is gone goes back to the requests topic to be routed again.
resource "google_pubsub_topic_iam_member" "requests_publisher_socket_node" {
  topic  = google_pubsub_topic.requests.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.socket_node.member
}

# Registry writes (connections, node heartbeat) and the mailbox drain.
resource "google_project_iam_member" "socket_node_datastore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.socket_node.member
}

resource "google_secret_manager_secret_iam_member" "jwt_secret_socket_node" {
  secret_id = var.jwt_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.socket_node.member

  depends_on = [google_project_service.required]
}

# --- send function -----------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "requests_publisher_send" {
  topic  = google_pubsub_topic.requests.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.send_function.member
}

# The direct route: a message for a user who holds sockets goes straight to their nodes.
resource "google_pubsub_topic_iam_member" "deliveries_publisher_send" {
  topic  = google_pubsub_topic.deliveries.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.send_function.member
}

# Presence (is user U online?) and the direct route read the registry; it never writes.
resource "google_project_iam_member" "send_datastore_viewer" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.send_function.member
}

# --- route function ----------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "deliveries_publisher_route" {
  topic  = google_pubsub_topic.deliveries.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.route_function.member
}

# Invalid messages go straight to the dead-letter topic with a reason.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher_route" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.route_function.member
}

# A request for many users fans out into one request per user on the same topic.
resource "google_pubsub_topic_iam_member" "requests_publisher_route" {
  topic  = google_pubsub_topic.requests.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.route_function.member
}

# Registry lookups and mailbox writes.
resource "google_project_iam_member" "route_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.route_function.member
}

# --- Pub/Sub push identity ---------------------------------------------------------------------

# Projects created before April 2021 need this for Pub/Sub to mint OIDC tokens; it is granted on
# the push identity alone, never on the project.
resource "google_service_account_iam_member" "router_push_token_creator_pubsub_agent" {
  service_account_id = google_service_account.router_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"

  depends_on = [google_project_service.required]
}

# --- functions build ---------------------------------------------------------------------------

resource "google_project_iam_member" "functions_build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectAdmin",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.functions_build.member
}
