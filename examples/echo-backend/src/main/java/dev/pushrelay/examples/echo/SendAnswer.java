package dev.pushrelay.examples.echo;

/**
 * What the echo backend does with the send API's answer to its echo: ack the publish it answers, or nack
 * it so that Pub/Sub delivers it again. Only an answer that a retry could change is nacked: a failure to
 * reach the API, a 5xx, 408 and 429. Any other 4xx refuses the echo itself (a body the API takes for
 * invalid, or a key it does not accept): sent again it is refused again, forever, so it is acked and
 * logged.
 */
enum SendAnswer {
  /** 202: the echo is on its way. */
  ACCEPTED,
  /** The API refused this echo for good: ack it, and say so in the log. */
  REFUSED,
  /** Try again later: nack. */
  RETRY;

  /** The answer to a response with {@code status}. */
  static SendAnswer of(int status) {
    if (status == 202) {
      return ACCEPTED;
    }
    if (status >= 400 && status < 500 && status != 408 && status != 429) {
      return REFUSED;
    }
    return RETRY;
  }

  boolean acks() {
    return this != RETRY;
  }
}
