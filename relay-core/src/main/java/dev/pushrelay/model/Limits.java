package dev.pushrelay.model;

import java.util.regex.Pattern;

/** Size and shape limits of the send contract, shared by every part that parses it. */
public final class Limits {
  /** Largest accepted request body and largest accepted data payload, in bytes. */
  public static final int MAX_BODY_BYTES = 256 * 1024;
  public static final int MAX_DATA_BYTES = 200 * 1024;
  public static final int MAX_RECIPIENTS = 1000;
  /**
   * The copies one fan-out makes, recipients × the bytes of {@code data}, at most: 16 MiB (1,000 users
   * of 16 KiB each, or 80 users of 200 KiB). A request over it is refused as too large.
   */
  public static final long MAX_FANOUT_COPY_BYTES = 16L * 1024 * 1024;
  public static final int MAX_TTL_SECONDS = 7 * 24 * 3600;

  /** Ids are Firestore document ids and Pub/Sub attribute values: no slash, bounded. */
  public static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9._:@|+=-]{1,128}");
  public static final Pattern MESSAGE_ID = Pattern.compile("[A-Za-z0-9._:+=-]{1,128}");
  public static final Pattern EVENT = Pattern.compile("[A-Za-z0-9._:/-]{1,64}");
  /** A client's own id for one upstream publish: 1-128 visible ASCII characters. */
  public static final Pattern UPSTREAM_ID = Pattern.compile("[\\x21-\\x7E]{1,128}");
  /** Largest client frame the relay takes; a larger one (up to the socket's hard cap) is refused as too_large. */
  public static final int MAX_CLIENT_FRAME_BYTES = 16 * 1024;

  private Limits() {}

  public static boolean isDocumentId(String id) {
    return !id.equals(".") && !id.equals("..") && !(id.startsWith("__") && id.endsWith("__"));
  }
}
