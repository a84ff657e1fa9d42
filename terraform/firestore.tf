# Firestore in Native mode holds the registry and the mailboxes:
#   connections/{connectionId}                 userId, nodeId, connectedAt, expiresAt
#   nodes/{nodeId}                             heartbeat, expiresAt (the lease), purgeAt (its TTL)
#   mailboxes/{userId}/pending/{messageId}     the request, sentAt, attempts, state, claimedAt, expiresAt
#   revocations/{userId}                       issuedBefore, expiresAt (issuedBefore + 24 h 5 min)
# The queries: connections where userId == U, and one user's pending entries claimed since T, on the
# automatic single-field indexes; one user's waiting entries (state in [pending, claimed]) oldest first,
# and the entries claimed since T and sent since S, on the composite indexes below.

resource "google_firestore_database" "default" {
  count = var.create_firestore_database ? 1 : 0

  project     = var.project_id
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  # Keep the data when the stack is destroyed; delete the database by hand if you mean it.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.required]
}

locals {
  firestore_database = var.create_firestore_database ? google_firestore_database.default[0].name : "(default)"
}

# A socket's catch-up reads what waits in its user's mailbox, oldest first, without the delivered
# tombstones, which may be many and would crowd out what waits.
resource "google_firestore_index" "pending_by_state" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "pending"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "sentAt"
    order      = "ASCENDING"
  }

  # After the field operations: index operations on one database queue behind each other too.
  depends_on = [google_firestore_field.sent_ids_ttl]
}

# A later page of a catch-up reads what the user's sockets claimed in the last seconds (to share it) only
# from its cursor's sentAt on: two ranges, which need a composite index.
resource "google_firestore_index" "pending_claimed_since" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "pending"

  fields {
    field_path = "claimedAt"
    order      = "ASCENDING"
  }
  fields {
    field_path = "sentAt"
    order      = "ASCENDING"
  }

  # index operations on one database queue behind each other
  depends_on = [google_firestore_index.pending_by_state]
}

# TTL policies: Firestore deletes a document some time (up to about a day) after its TTL field
# (expiresAt; purgeAt for nodes).
# Readers still compare expiresAt with the clock, since deletion lags.

resource "google_firestore_field" "connections_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "connections"
  field      = "expiresAt"

  ttl_config {}

  # Never queried, and written at every connect with an ever-growing timestamp: an index on it
  # would cap the connect rate (monotonic index hotspot), so it has none.
  index_config {}

  depends_on = [google_project_service.required]
}

# purgeAt, not the lease's expiresAt: a node's document must outlive its lease until the cleanup
# has swept its delivery subscription (which never expires), and the cleanup finds it by the document.
resource "google_firestore_field" "nodes_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "nodes"
  field      = "purgeAt"

  ttl_config {}

  # Field operations on one database run one at a time.
  depends_on = [google_firestore_field.connections_ttl]
}

# A collection group: every user's mailboxes/{userId}/pending.
resource "google_firestore_field" "pending_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "pending"
  field      = "expiresAt"

  ttl_config {}

  depends_on = [google_firestore_field.nodes_ttl]
}

# A user's revocation (POST /v1/users/{userId}/disconnect with revokeIssuedBefore): tokens issued
# before issuedBefore are refused until expiresAt, the longest token life the relay is meant for.
resource "google_firestore_field" "revocations_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "revocations"
  field      = "expiresAt"

  ttl_config {}

  # Read by id only, never queried: no index.
  index_config {}

  depends_on = [google_firestore_field.pending_ttl]
}

# A collection group: every user's mailboxes/{userId}/sentIds, the ids senders gave the user's messages
# (the send function answers 409 to an id reused with other content), kept for the message's TTL.
resource "google_firestore_field" "sent_ids_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = "sentIds"
  field      = "expiresAt"

  ttl_config {}

  # Read by id only, never queried: no index.
  index_config {}

  depends_on = [google_firestore_field.revocations_ttl]
}
