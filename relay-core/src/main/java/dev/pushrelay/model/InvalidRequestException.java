package dev.pushrelay.model;

/** A send request that breaks the contract; {@link #field()} names the offending field. */
public final class InvalidRequestException extends Exception {
  private final String field;

  public InvalidRequestException(String field, String message) {
    super(message);
    this.field = field;
  }

  public String field() {
    return field;
  }
}
