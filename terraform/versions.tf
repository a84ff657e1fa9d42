terraform {
  # 1.9 lets a variable's validation refer to other variables (min <= max instances, CPU for concurrency).
  required_version = ">= 1.9.0"

  # Pinned to the releases infra-tests checks this configuration against (infra-tests/schema/
  # provider-schema.json, generated from the prebuilt bindings of exactly these versions). `terraform
  # init` writes .terraform.lock.hcl with the providers' checksums; commit it (docs/DEPLOY.md).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50.0"
    }
    # For google_project_service_identity alone (the Pub/Sub service agent), which 6.50 has only in beta.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50.0"
    }
    # time_sleep: the waits IAM needs before a new grant is seen everywhere.
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13.1"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
