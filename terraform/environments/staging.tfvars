# Staging: the settings that differ from production, nothing else. Applied first, then the project's own
# settings (gs://<state bucket>/push-relay.tfvars: invokers, origins, alert e-mail) on top.
environment = "staging"

# Scales to zero when nobody uses it; the smoke test and a canary wake it.
socket_node_min_instances = 0
socket_node_max_instances = 5
function_max_instances    = 3

# For trying a deployment from a browser.
serve_demo_page = true
