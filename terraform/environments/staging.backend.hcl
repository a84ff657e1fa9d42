# terraform init -backend-config=environments/staging.backend.hcl -backend-config="bucket=<staging project>-relay-tfstate"
prefix = "push-relay/staging"
