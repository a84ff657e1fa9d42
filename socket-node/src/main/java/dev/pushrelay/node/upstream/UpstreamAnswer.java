package dev.pushrelay.node.upstream;

import dev.pushrelay.model.ServerFrames;

/** How a client's publish ended: accepted by Pub/Sub, or refused with an error code and a message. */
public record UpstreamAnswer(String code, String message) {
  public static final UpstreamAnswer ACCEPTED = new UpstreamAnswer("", "");

  public static UpstreamAnswer refused(String code, String message) {
    return new UpstreamAnswer(code, message);
  }

  public boolean accepted() {
    return code.isEmpty();
  }

  /** The frame that answers publish {@code id}. */
  public String frame(String id) {
    return accepted() ? ServerFrames.accepted(id) : ServerFrames.error(code, id, message);
  }
}
