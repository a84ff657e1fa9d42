variable "project_id" {
  type        = string
  description = "Google Cloud project that hosts the relay."
}

variable "environment" {
  type        = string
  description = "The environment this deploys: staging or production, each in a project of its own (terraform/environments/<environment>.tfvars and .backend.hcl). Part of every name Terraform chooses."

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment is staging or production."
  }
}

variable "region" {
  type        = string
  description = "Region for Cloud Run, the functions, the source bucket and the image repository."
  default     = "us-central1"
}

variable "firestore_location" {
  type        = string
  description = "Location of the Firestore database: a multi-region such as nam5 or eur3, or a region. It cannot change after creation."
  default     = "nam5"
}

variable "create_firestore_database" {
  type        = bool
  description = "Create the (default) Firestore database in Native mode. Set to false when the project already has one."
  default     = true
}

variable "socket_node_image" {
  type        = string
  description = "Container image of the socket node, as pushed by Jib: REGION-docker.pkg.dev/PROJECT/push-relay/socket-node@sha256:DIGEST (a tag such as :TAG is accepted in staging only)."

  # Production runs exactly what staging ran: the promote build passes staging's digest, never a tag
  # that could have moved since.
  validation {
    condition     = var.environment != "production" || can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.socket_node_image))
    error_message = "In production socket_node_image must be pinned by digest (.../socket-node@sha256:<64 hex digits>), the digest staging ran (docs/DEPLOY.md, promotion)."
  }
}

variable "jwt_secret_id" {
  type        = string
  description = "Secret Manager secret (short id, same project) that holds the HS256 key the socket node verifies client JWTs with."
  default     = "relay-jwt-secret"
}

variable "log_key_secret_id" {
  type        = string
  description = "Secret Manager secret (short id, same project) that holds the key of the pseudonyms user ids appear as in every part's logs (RELAY_LOG_KEY, at least 16 bytes): without it a reader of the logs could recompute them from the project id."
  default     = "relay-log-key"
}

variable "allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed to open sockets (and to call the send function from the demo page), each exactly as a browser sends it: scheme://host[:port], no path, no trailing slash, no wildcard. Empty allows any origin."
  default     = []

  # The same rule the socket node applies at start (NodeConfig.ORIGIN): an origin it refuses would
  # leave the apply waiting on a revision that never becomes ready.
  validation {
    condition     = alltrue([for o in var.allowed_origins : can(regex("^https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$", o))])
    error_message = "allowed_origins entries must be origins like https://app.example.com or http://localhost:8080 (scheme http or https, host, optional port; no path, no trailing slash, no wildcard)."
  }
}

variable "socket_node_concurrency" {
  type        = number
  description = "Concurrent requests, and so WebSockets, per socket node instance. Cloud Run allows at most 1000."
  default     = 1000

  validation {
    condition     = var.socket_node_concurrency >= 1 && var.socket_node_concurrency <= 1000
    error_message = "socket_node_concurrency must be between 1 and 1000 (the Cloud Run maximum)."
  }
}

variable "socket_node_min_instances" {
  type        = number
  description = "Socket node instances kept warm. 1 or more avoids a cold start on the first connection."
  default     = 1

  validation {
    condition     = var.socket_node_min_instances >= 0
    error_message = "socket_node_min_instances must not be negative."
  }

  validation {
    condition     = var.socket_node_min_instances <= var.socket_node_max_instances
    error_message = "socket_node_min_instances must not be more than socket_node_max_instances."
  }
}

variable "socket_node_max_instances" {
  type        = number
  description = "Upper bound on socket node instances."
  default     = 20

  validation {
    condition     = var.socket_node_max_instances >= 1
    error_message = "socket_node_max_instances must be at least 1."
  }
}

variable "socket_node_cpu" {
  type        = string
  description = "vCPUs per socket node instance (\"1\", \"2\", … or millicores such as \"1000m\"). Cloud Run needs at least 1 when an instance serves more than one request at a time."
  default     = "1"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?|[0-9]+m)$", var.socket_node_cpu))
    error_message = "socket_node_cpu is a number of vCPUs such as \"1\" or \"2\", or millicores such as \"2000m\"."
  }

  validation {
    condition     = var.socket_node_concurrency <= 1 || try((endswith(var.socket_node_cpu, "m") ? tonumber(trimsuffix(var.socket_node_cpu, "m")) / 1000 : tonumber(var.socket_node_cpu)) >= 1, false)
    error_message = "Cloud Run needs at least 1 vCPU per instance that serves more than one request at a time: set socket_node_cpu to 1 or more (or socket_node_concurrency to 1)."
  }
}

variable "socket_node_memory" {
  type        = string
  description = "Memory per socket node instance. The JVM takes 75% of it as heap."
  default     = "1Gi"
}

variable "socket_node_public" {
  type        = bool
  description = "Let anyone reach the socket node (browsers connect directly; the node authenticates every socket with a JWT) by turning off Cloud Run's invoker IAM check, which domain-restricted sharing allows where an allUsers grant is refused. Set to false to put something else in front of it: the check stays on and callers need roles/run.invoker."
  default     = true
}

variable "functions_source_zip" {
  type        = string
  description = "Path of the functions deployable (zip made by scripts/deploy/package-functions.sh), relative to this directory or absolute."
  default     = "../functions/target/deploy/functions.zip"
}

variable "presence_callers" {
  type        = list(string)
  description = "E-mails of the accounts that may ask the send function whether a user is online (GET /v1/users/{id}/presence); each must also be an invoker (send_function_invokers). Empty: nobody may."
  default     = []

  validation {
    condition     = alltrue([for e in var.presence_callers : can(regex("^[^@\\s:]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "presence_callers entries are account e-mails, such as backend@PROJECT.iam.gserviceaccount.com (no serviceAccount: prefix, no *)."
  }
}

variable "send_function_invokers" {
  type        = list(string)
  description = "IAM members allowed to call the send function, for example serviceAccount:backend@PROJECT.iam.gserviceaccount.com. Never allUsers or allAuthenticatedUsers."
  default     = []

  validation {
    condition = alltrue([
      for m in var.send_function_invokers : !contains(["allUsers", "allAuthenticatedUsers"], m)
    ])
    error_message = "The send function is IAM-only: allUsers and allAuthenticatedUsers are not allowed."
  }

  validation {
    condition     = alltrue([for m in var.send_function_invokers : can(regex("^(user|serviceAccount|group):[^@\\s]+@[^@\\s]+\\.[^@\\s]+$|^domain:[^\\s]+\\.[^\\s]+$|^principal(Set)?://[^\\s]+$", m))])
    error_message = "send_function_invokers entries are IAM members with an identity, such as serviceAccount:backend@PROJECT.iam.gserviceaccount.com, user:name@example.com or group:team@example.com."
  }
}

variable "smoke_test_invoker" {
  type        = string
  description = "One more IAM member allowed to call the send function: the account Cloud Build deploys and smoke-tests with. Empty for none."
  default     = ""

  validation {
    condition     = !contains(["allUsers", "allAuthenticatedUsers"], var.smoke_test_invoker)
    error_message = "The send function is IAM-only: allUsers and allAuthenticatedUsers are not allowed."
  }

  # Cloud Build passes serviceAccount:<the build's account>; an empty account must stop here rather
  # than become the member "serviceAccount:", which IAM refuses halfway through the apply.
  validation {
    condition     = var.smoke_test_invoker == "" || can(regex("^(user|serviceAccount|group):[^@\\s]+@[^@\\s]+\\.[^@\\s]+$|^domain:[^\\s]+\\.[^\\s]+$|^principal(Set)?://[^\\s]+$", var.smoke_test_invoker))
    error_message = "smoke_test_invoker is empty or an IAM member with an identity, such as serviceAccount:relay-deployer@PROJECT.iam.gserviceaccount.com (not a bare \"serviceAccount:\")."
  }
}

variable "send_direct_route" {
  type        = bool
  description = "The send function's direct route (RELAY_DIRECT_ROUTE): a message for a user who holds sockets goes straight to their nodes. false sends everything through the route function. docs/DEPLOY.md, flags, says how to flip it in seconds without a deploy; this is the value the next apply keeps."
  default     = true
}

variable "function_max_instances" {
  type        = number
  description = "Upper bound on instances of each function. Cloud Run refuses a revision whose instances times vCPUs the project's regional CPU quota cannot hold, and new projects start with a small one: raise this once the quota allows (docs/DEPLOY.md, \"Instances and the regional CPU quota\")."
  default     = 10

  validation {
    condition     = var.function_max_instances >= 1
    error_message = "function_max_instances must be at least 1."
  }
}

variable "function_memory" {
  type        = string
  description = "Memory of each function instance."
  default     = "512Mi"
}

variable "function_cpu" {
  type        = string
  description = "vCPUs per function instance (\"1\", \"2\", \"0.583\", …). More than one concurrent request needs at least 1."
  default     = "1"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?|[0-9]+m)$", var.function_cpu))
    error_message = "function_cpu is a number of vCPUs such as \"1\" or \"2\", or millicores such as \"1000m\"."
  }

  validation {
    condition     = var.function_concurrency <= 1 || try((endswith(var.function_cpu, "m") ? tonumber(trimsuffix(var.function_cpu, "m")) / 1000 : tonumber(var.function_cpu)) >= 1, false)
    error_message = "A function instance that serves more than one request at a time needs at least 1 vCPU: set function_cpu to 1 or more (or function_concurrency to 1)."
  }
}

variable "function_concurrency" {
  type        = number
  description = "Concurrent requests per function instance."
  default     = 40

  validation {
    condition     = var.function_concurrency >= 1 && var.function_concurrency <= 1000
    error_message = "function_concurrency must be between 1 and 1000."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels put on the resources that take labels."
  default     = {}
}

variable "alert_notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel ids (projects/PROJECT/notificationChannels/ID) told when a message is dead-lettered."
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "alert_notification_channels entries are channel ids: projects/PROJECT/notificationChannels/ID."
  }
}

variable "alert_email" {
  type        = string
  description = "Email address told about every relay alert (dead letters and the service-level alerts). Empty for none; alert_notification_channels can name other channels."
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email is empty or one email address."
  }
}

variable "allow_query_token" {
  type        = bool
  description = "Whether socket nodes take a token in the access_token query string. Keep it false: URLs end up in request logs (Cloud Run's too); browsers send the token as the bearer.<token> subprotocol, other clients in the Authorization header."
  default     = false
}

variable "serve_demo_page" {
  type        = bool
  description = "Whether socket nodes serve the demo page, its config and the JS client (they name the send URL and the node). For trying a deployment; false in production."
  default     = false
}

variable "serve_metrics" {
  type        = bool
  description = "Whether socket nodes answer GET /metrics (traffic counters for anyone who can reach the node). False in production: every process writes its metrics to Cloud Monitoring itself (monitoring.tf)."
  default     = false
}

variable "token_audience" {
  type        = string
  description = "The aud claim the socket node requires in HS256 client tokens (RELAY_JWT_AUDIENCE), so that a token your backend signed for another service with the same key is refused here. Your backend puts it in every token. Empty: no audience required. In jwks mode auth_environment's RELAY_JWT_AUDIENCE (the project id for Firebase) takes its place."
  default     = "push-relay"

  validation {
    condition     = can(regex("^[!-~]{0,128}$", var.token_audience))
    error_message = "token_audience must be at most 128 visible ASCII characters, no spaces."
  }
}

variable "trusted_proxy_hops" {
  type        = number
  description = "X-Forwarded-For hops, counted from the right, that proxies in front of the socket node appended; the last of them is the client address its handshake limit counts. 1: Cloud Run's own front end (the default); 2: behind a Google external Application Load Balancer, which appends <client-ip>,<load-balancer-ip>. See docs/DEPLOY.md."
  default     = 1

  validation {
    condition     = var.trusted_proxy_hops >= 1 && var.trusted_proxy_hops <= 10 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops
    error_message = "trusted_proxy_hops must be a whole number from 1 to 10: a Cloud Run service always has its front end in front of it."
  }
}

variable "trace_sample_ratio" {
  type        = number
  description = "Share of messages whose trace goes to Cloud Trace (a caller's sampled traceparent is always followed). Each traced message writes three spans or more."
  default     = 0.01

  validation {
    condition     = var.trace_sample_ratio >= 0 && var.trace_sample_ratio <= 1
    error_message = "trace_sample_ratio is a share, from 0 to 1."
  }
}

variable "otel_environment" {
  type        = map(string)
  description = "More OTEL_* variables for the socket node and both functions, over the defaults of local.telemetry_env: for example OTEL_EXPORTER_OTLP_ENDPOINT of an OpenTelemetry Collector to export over OTLP as well. Metrics and traces go to Cloud Monitoring and Cloud Trace whatever this holds."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.otel_environment) : startswith(k, "OTEL_")])
    error_message = "otel_environment takes OTEL_* variables only."
  }

  validation {
    condition     = !contains(keys(var.otel_environment), "OTEL_METRIC_EXPORT_INTERVAL") || try(tonumber(var.otel_environment["OTEL_METRIC_EXPORT_INTERVAL"]) >= 5000, false)
    error_message = "OTEL_METRIC_EXPORT_INTERVAL is at least 5000 (milliseconds): Cloud Monitoring refuses points of one series less than 5 s apart."
  }
}

variable "auth_environment" {
  description = <<-EOT
    Socket node auth settings beyond the HS256 secret in jwt_secret_id. Empty keeps HS256. For
    Firebase Auth / Identity Platform ID tokens: { RELAY_AUTH_MODE = "jwks", RELAY_JWKS_URL =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
    RELAY_JWT_ISSUER = "https://securetoken.google.com/<project>", RELAY_JWT_AUDIENCE = "<project>" }.
  EOT
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for k in keys(var.auth_environment) : contains(
      ["RELAY_AUTH_MODE", "RELAY_JWKS_URL", "RELAY_JWT_ISSUER", "RELAY_JWT_AUDIENCE", "RELAY_JWT_ALGORITHMS",
    "RELAY_JWT_CLOCK_SKEW_SECONDS"], k)])
    error_message = "auth_environment takes only RELAY_AUTH_MODE, RELAY_JWKS_URL, RELAY_JWT_ISSUER, RELAY_JWT_AUDIENCE, RELAY_JWT_ALGORITHMS and RELAY_JWT_CLOCK_SKEW_SECONDS."
  }
}

variable "upstream_push_endpoint" {
  type        = string
  description = "HTTPS URL of your backend that Pub/Sub pushes the upstream topic to (client publishes and connection events), with an OIDC token of the identity in the output upstream_push_identity. Empty: no push subscription; subscribe to the topic yourself."
  default     = ""

  validation {
    condition     = var.upstream_push_endpoint == "" || can(regex("^https://[^\\s/]+(/[^\\s]*)?$", var.upstream_push_endpoint))
    error_message = "upstream_push_endpoint is empty or an https:// URL."
  }
}

variable "upstream_push_audience" {
  type        = string
  description = "Audience of the OIDC token on upstream pushes; empty for the endpoint URL itself (what Cloud Run expects)."
  default     = ""
}

variable "upstream_push_filter" {
  type        = string
  description = "Pub/Sub filter of the upstream push subscription, e.g. attributes.type = \"message\" for client publishes only. Empty: everything."
  default     = ""
}

variable "upstream_push_max_attempts" {
  type        = number
  description = "Delivery attempts to the backend before an upstream message goes to the upstream dead letter (5-100)."
  default     = 20

  validation {
    condition     = var.upstream_push_max_attempts >= 5 && var.upstream_push_max_attempts <= 100
    error_message = "upstream_push_max_attempts is between 5 and 100, as Pub/Sub allows."
  }
}
