# State lives in a Cloud Storage bucket so that Cloud Build and people share it. The bucket is
# given at init time: terraform init -backend-config="bucket=<state bucket>"
# To keep state on your own machine instead, delete this file before `terraform init`.
terraform {
  backend "gcs" {
    prefix = "push-relay"
  }
}
