package dev.pushrelay.mailbox;

/**
 * What the relay knows of a sender's message id for a user ({@link Mailbox#recordId}): first seen now, seen
 * before with the same content (a sender's retry), or seen before with other content (a second sender,
 * or a bug, that reuses an id: its message would be taken for a repeat and dropped).
 */
public enum IdUse {
  FIRST,
  SAME_CONTENT,
  OTHER_CONTENT
}
