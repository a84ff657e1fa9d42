package dev.pushrelay.node.auth;

/** A token that does not authenticate anyone; the message is safe to show and never holds the token. */
public class AuthException extends Exception {
  public AuthException(String message) {
    super(message);
  }

  /**
   * The token could not be checked because the identity provider's keys could not be fetched (or
   * fetching is rate-limited): the node's problem, not the client's, so it is answered 503.
   */
  public static final class KeysUnavailable extends AuthException {
    public KeysUnavailable(String message) {
      super(message);
    }
  }
}
