# Production: the settings that differ from staging, nothing else. Applied first, then the project's own
# settings (gs://<state bucket>/push-relay.tfvars: invokers, origins, alert e-mail) on top.
environment = "production"

# One node kept warm: a first connection never waits for a cold start.
socket_node_min_instances = 1
socket_node_max_instances = 20
function_max_instances    = 10

serve_demo_page = false
