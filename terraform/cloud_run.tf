# The socket node: Jetty 12 WebSocket server on Cloud Run. One WebSocket is one request, so the
# request timeout (the longest a socket lives) is the Cloud Run maximum of 60 minutes and the
# concurrency is the number of sockets an instance holds.

resource "google_cloud_run_v2_service" "socket_node" {
  name     = "relay-socket-node-${var.environment}"
  location = var.region
  # Behind a load balancer (trusted_proxy_hops > 1) the node takes traffic from the balancer only: a client
  # that called the run.app URL directly could write the hop the node trusts as the client's address.
  ingress = var.trusted_proxy_hops > 1 ? "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" : "INGRESS_TRAFFIC_ALL"
  labels  = local.labels

  # The service holds no data: a destroy or replace loses nothing that clients do not reconnect to.
  deletion_protection = false

  # Browsers connect straight to the node, which authenticates every socket with a JWT at the
  # handshake: Cloud Run's invoker check is turned off rather than roles/run.invoker granted to
  # allUsers, which domain-restricted sharing (on by default in organizations created since May 2024)
  # refuses. socket_node_public = false keeps the check, for a node behind something else that
  # holds the invoker role.
  invoker_iam_disabled = var.socket_node_public

  template {
    service_account                  = google_service_account.socket_node.email
    timeout                          = "3600s"
    max_instance_request_concurrency = var.socket_node_concurrency
    # Best effort: a reconnecting browser tends to land on the instance that has its state warm.
    session_affinity = true

    scaling {
      min_instance_count = var.socket_node_min_instances
      max_instance_count = var.socket_node_max_instances
    }

    containers {
      image = var.socket_node_image

      ports {
        name           = "http1"
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.socket_node_cpu
          memory = var.socket_node_memory
        }
        # The node heartbeats, pulls its deliveries and drains on SIGTERM outside any one request:
        # keep the CPU allocated for the instance's whole life.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project_id
      }
      env {
        name  = "RELAY_ALLOWED_ORIGINS"
        value = join(",", var.allowed_origins)
      }
      env {
        name  = "RELAY_ALLOW_QUERY_TOKEN"
        value = tostring(var.allow_query_token)
      }
      env {
        name  = "RELAY_SERVE_DEMO"
        value = tostring(var.serve_demo_page)
      }
      env {
        name  = "RELAY_SERVE_METRICS"
        value = tostring(var.serve_metrics)
      }
      env {
        name  = "RELAY_TRUSTED_PROXY_HOPS"
        value = tostring(var.trusted_proxy_hops)
      }
      env {
        name  = "RELAY_SEND_URL"
        value = google_cloudfunctions2_function.send.service_config[0].uri
      }
      env {
        name  = "RELAY_MAX_CONNECTIONS"
        value = tostring(var.socket_node_concurrency)
      }
      # Connection auth beyond the HS256 secret, e.g. RELAY_AUTH_MODE=jwks for Firebase Auth ID tokens.
      dynamic "env" {
        for_each = var.auth_environment
        content {
          name  = env.key
          value = env.value
        }
      }
      # The audience HS256 client tokens must carry, unless auth_environment names one (jwks mode).
      dynamic "env" {
        for_each = var.token_audience == "" || contains(keys(var.auth_environment), "RELAY_JWT_AUDIENCE") ? [] : [var.token_audience]
        content {
          name  = "RELAY_JWT_AUDIENCE"
          value = env.value
        }
      }
      # Metrics to Cloud Monitoring and traces to Cloud Trace, and any OTEL_* settings (local.telemetry_env).
      dynamic "env" {
        for_each = local.telemetry_env
        content {
          name  = env.key
          value = env.value
        }
      }
      env {
        name = "RELAY_LOG_KEY"
        value_source {
          secret_key_ref {
            secret  = var.log_key_secret_id
            version = "latest"
          }
        }
      }
      # The HS256 key, in hs256 mode only: a node that verifies with a JWK set never holds it.
      dynamic "env" {
        for_each = local.hs256 ? ["RELAY_JWT_SECRET"] : []
        content {
          name = env.value
          value_source {
            secret_key_ref {
              secret  = var.jwt_secret_id
              version = "latest"
            }
          }
        }
      }

      # Ready once the node has registered itself and opened its delivery subscription.
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 1
        failure_threshold     = 60

        http_get {
          path = "/readyz"
          port = 8080
        }
      }

      liveness_probe {
        period_seconds    = 10
        timeout_seconds   = 2
        failure_threshold = 3

        http_get {
          path = "/healthz"
          port = 8080
        }
      }
    }
  }

  # Traffic belongs to the rollout, not to Terraform. A new service sends everything to its latest
  # revision; from then on scripts/deploy/canary.sh (a tagged revision at N %, then its promotion) and
  # scripts/rollback.sh (100 % back to the previous revision) move it. Without ignore_changes the next
  # apply would put 100 % back on the latest revision and undo a rollback or a canary split. While
  # traffic is pinned to a named revision, a revision an apply makes serves nothing until promoted.
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # client, client_version and the template's revision name, labels and annotations are what gcloud
    # may write when canary.sh deploys an image: an apply with that same image must not make a revision.
    ignore_changes = [
      traffic,
      client,
      client_version,
      template[0].revision,
      template[0].labels,
      template[0].annotations,
    ]
  }

  # The revision needs its grants in effect, not just made (iam.tf, time_sleep.iam_propagation).
  depends_on = [
    google_project_iam_member.socket_node_datastore,
    google_project_iam_member.socket_node_subscriptions,
    google_secret_manager_secret_iam_member.jwt_secret_socket_node,
    google_secret_manager_secret_iam_member.log_key["socket_node"],
    time_sleep.iam_propagation,
    # A node registers itself in Firestore before it reports ready, and its catch-ups' queries need these
    # composite indexes built. (A release's canary runs before its apply: a page whose index is not built
    # yet reads the shared window the older, wider way.)
    google_firestore_database.default,
    google_firestore_index.pending_by_state,
    google_firestore_index.pending_claimed_since,
  ]
}
