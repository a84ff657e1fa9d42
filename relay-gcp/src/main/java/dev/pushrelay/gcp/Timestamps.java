package dev.pushrelay.gcp;

import com.google.cloud.Timestamp;
import java.time.Instant;

/** Firestore timestamps from and to {@link Instant}. */
public final class Timestamps {
  private Timestamps() {}

  public static Timestamp of(Instant i) {
    return Timestamp.ofTimeSecondsAndNanos(i.getEpochSecond(), i.getNano());
  }

  public static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  /** The instant of a field that may be absent: null for null. */
  public static Instant instantOrNull(Timestamp t) {
    return t == null ? null : instant(t);
  }
}
