variable "project_id" {
  type        = string
  description = "Google Cloud project that hosts the relay."
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
  description = "Container image of the socket node, as pushed by Jib (for example REGION-docker.pkg.dev/PROJECT/push-relay/socket-node:TAG)."
}

variable "jwt_secret_id" {
  type        = string
  description = "Secret Manager secret (short id, same project) that holds the HS256 key the socket node verifies client JWTs with."
  default     = "relay-jwt-secret"
}

variable "allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed to open sockets (and to call the send function from the demo page). Empty allows any origin."
  default     = []
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
  description = "vCPUs per socket node instance."
  default     = "1"
}

variable "socket_node_memory" {
  type        = string
  description = "Memory per socket node instance. The JVM takes 75% of it as heap."
  default     = "1Gi"
}

variable "socket_node_public" {
  type        = bool
  description = "Let anyone reach the socket node (browsers connect directly; the node authenticates every socket with a JWT). Set to false to put something else in front of it."
  default     = true
}

variable "functions_source_zip" {
  type        = string
  description = "Path of the functions deployable (zip made by scripts/deploy/package-functions.sh), relative to this directory or absolute."
  default     = "../functions/target/deploy/functions.zip"
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
}

variable "smoke_test_invoker" {
  type        = string
  description = "One more IAM member allowed to call the send function: the account Cloud Build deploys and smoke-tests with. Empty for none."
  default     = ""

  validation {
    condition     = !contains(["allUsers", "allAuthenticatedUsers"], var.smoke_test_invoker)
    error_message = "The send function is IAM-only: allUsers and allAuthenticatedUsers are not allowed."
  }
}

variable "function_max_instances" {
  type        = number
  description = "Upper bound on instances of each function."
  default     = 50
}

variable "function_memory" {
  type        = string
  description = "Memory of each function instance."
  default     = "512Mi"
}

variable "function_cpu" {
  type        = string
  description = "vCPUs per function instance. More than one concurrent request needs at least 1."
  default     = "1"
}

variable "function_concurrency" {
  type        = number
  description = "Concurrent requests per function instance."
  default     = 40
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
}

variable "alert_email" {
  type        = string
  description = "Email address told about every relay alert (dead letters and the service-level alerts). Empty for none; alert_notification_channels can name other channels."
  default     = ""
}

variable "otel_environment" {
  type        = map(string)
  description = "OTEL_* variables for the socket node and both functions, for example OTEL_EXPORTER_OTLP_ENDPOINT of an OpenTelemetry Collector that writes to Managed Service for Prometheus and Cloud Trace. Empty: no export; each part still serves GET /metrics."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.otel_environment) : startswith(k, "OTEL_")])
    error_message = "otel_environment takes OTEL_* variables only."
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
