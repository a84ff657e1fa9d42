package dev.pushrelay.node;

/** A node of a retired revision (a rollback): it does not serve, and does not come back. */
final class RevisionRetired extends Exception {
  RevisionRetired() {
    super("revision retired", null, false, false);
  }
}
