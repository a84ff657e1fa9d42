# State lives in a Cloud Storage bucket so that Cloud Build and people share it. The bucket and the
# prefix are given at init time, the prefix by the environment's backend file:
#   terraform init -backend-config=environments/production.backend.hcl \
#     -backend-config="bucket=<production project>-relay-tfstate"
# Each environment has a state of its own (infra-tests EnvironmentsTest: never the same object).
# To keep state on your own machine instead, delete this file before `terraform init`.
terraform {
  backend "gcs" {}
}
