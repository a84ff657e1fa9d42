package dev.pushrelay.node.auth;

/** A token that does not authenticate anyone; the message is safe to show and never holds the token. */
public final class AuthException extends Exception {
  public AuthException(String message) {
    super(message);
  }
}
