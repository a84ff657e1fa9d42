# The send and route functions: 2nd gen, Java 17, built by Cloud Build from the functions
# deployable (one manifest-only jar plus its lib/ folder, see scripts/deploy/package-functions.sh).

locals {
  functions_zip_path = abspath(startswith(var.functions_source_zip, "/") ? var.functions_source_zip : "${path.module}/${var.functions_source_zip}")

  function_env = {
    GOOGLE_CLOUD_PROJECT            = var.project_id
    RELAY_MAX_DELIVERY_ATTEMPTS     = tostring(local.topology.retry.maxDeliveryAttempts)
    RELAY_RETRY_MIN_BACKOFF_SECONDS = tostring(local.topology.retry.minBackoffSeconds)
    RELAY_RETRY_MAX_BACKOFF_SECONDS = tostring(local.topology.retry.maxBackoffSeconds)
  }
}

resource "google_storage_bucket" "functions_source" {
  name                        = "${var.project_id}-relay-${var.environment}-functions"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = local.labels

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

# The object name carries the content hash, so a new build redeploys both functions. (The guard
# keeps plans that do not upload, such as destroy, working without a local build.)
resource "google_storage_bucket_object" "functions_source" {
  name   = "functions-${fileexists(local.functions_zip_path) ? filemd5(local.functions_zip_path) : "missing"}.zip"
  bucket = google_storage_bucket.functions_source.name
  source = local.functions_zip_path

  lifecycle {
    precondition {
      condition     = fileexists(local.functions_zip_path)
      error_message = "No functions deployable at ${local.functions_zip_path}: run scripts/deploy/package-functions.sh after mvn package."
    }
  }
}

resource "google_cloudfunctions2_function" "send" {
  name        = "relay-send-${var.environment}"
  location    = var.region
  description = "push relay: HTTP API that accepts send requests and publishes them to the requests topic"
  labels      = local.labels

  build_config {
    runtime         = "java17"
    entry_point     = "dev.pushrelay.functions.send.SendFunction"
    service_account = google_service_account.functions_build.id

    source {
      storage_source {
        bucket = google_storage_bucket.functions_source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.send_function.email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    available_memory                 = var.function_memory
    available_cpu                    = var.function_cpu
    max_instance_request_concurrency = var.function_concurrency
    max_instance_count               = var.function_max_instances
    timeout_seconds                  = 60

    environment_variables = merge(local.telemetry_env, local.function_env, {
      RELAY_CORS_ORIGINS = join(",", var.allowed_origins)
      # A flag a rollout may turn off without a deploy (docs/DEPLOY.md, flags); this is its lasting value.
      RELAY_DIRECT_ROUTE = tostring(var.send_direct_route)
      # Who may ask for presence, a permission narrower than invoking the function (PresenceCallers).
      RELAY_PRESENCE_CALLERS = join(",", var.presence_callers)
    })

    secret_environment_variables {
      key        = "RELAY_LOG_KEY"
      project_id = var.project_id
      secret     = var.log_key_secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_project_iam_member.functions_build,
    google_project_iam_member.functions_build_storage,
    google_project_iam_member.send_datastore_user,
    google_secret_manager_secret_iam_member.log_key["send_function"],
    google_project_iam_member.send_pubsub_publisher,
    time_sleep.iam_propagation,
    # The registry and the mailboxes: the first request reads them.
    google_firestore_database.default,
  ]
}

resource "google_cloudfunctions2_function" "route" {
  name        = "relay-route-${var.environment}"
  location    = var.region
  description = "push relay: consumes the retry subscription and routes each request to the nodes holding the user"
  labels      = local.labels

  build_config {
    runtime         = "java17"
    entry_point     = "dev.pushrelay.functions.route.RouteFunction"
    service_account = google_service_account.functions_build.id

    source {
      storage_source {
        bucket = google_storage_bucket.functions_source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.route_function.email
    # Only Pub/Sub calls it; pushes from a subscription in the same project count as internal.
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    available_memory                 = var.function_memory
    available_cpu                    = var.function_cpu
    max_instance_request_concurrency = var.function_concurrency
    max_instance_count               = var.function_max_instances
    # A push is answered within the subscription's ack deadline, or Pub/Sub counts it as failed.
    timeout_seconds       = local.topology.routerAckDeadlineSeconds
    environment_variables = merge(local.telemetry_env, local.function_env)

    secret_environment_variables {
      key        = "RELAY_LOG_KEY"
      project_id = var.project_id
      secret     = var.log_key_secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_project_iam_member.functions_build,
    google_project_iam_member.functions_build_storage,
    google_project_iam_member.route_datastore_user,
    google_secret_manager_secret_iam_member.log_key["route_function"],
    google_project_iam_member.route_pubsub_publisher,
    time_sleep.iam_propagation,
    google_firestore_database.default,
  ]
}

# Invokers. A 2nd gen function is served by a Cloud Run service of the same name, and invoking
# it is the run.invoker role on that service. Neither function has a public invoker.

resource "google_cloud_run_v2_service_iam_member" "send_invokers" {
  for_each = toset(concat(var.send_function_invokers, var.smoke_test_invoker == "" ? [] : [var.smoke_test_invoker]))

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.send.name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_run_v2_service_iam_member" "route_invoker_router_push" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.route.name
  role     = "roles/run.invoker"
  member   = google_service_account.router_push.member
}
