# terraform init -backend-config=environments/production.backend.hcl -backend-config="bucket=<production project>-relay-tfstate"
prefix = "push-relay/production"
