package dev.pushrelay.functions.http;

import com.google.cloud.functions.HttpRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads a request body up to a limit, so an oversize body costs no more than the limit in memory. An
 * oversize body of at most {@link #DRAIN_BYTES} is read to its end and dropped, so that its sender gets
 * the 413 answer: a server that answers and closes with unread bytes in its socket makes the kernel
 * reset the connection, and the client may then see the reset instead of the answer. A larger one is
 * not read on; its connection is closed.
 */
public final class BodyReader {
  /** Oversize bodies up to this many bytes are read out and dropped before the answer. */
  static final long DRAIN_BYTES = 4L * 1024 * 1024;

  private BodyReader() {}

  /** The body, or empty when it is longer than {@code limit} bytes. */
  public static Optional<byte[]> read(HttpRequest request, int limit) throws IOException {
    long declared = request.getContentLength();
    try (InputStream in = request.getInputStream()) {
      if (declared > limit) {
        drain(in, declared);
        return Optional.empty();
      }
      byte[] buf = new byte[Math.min(limit + 1, 16 * 1024)];
      int len = 0;
      while (true) {
        if (len == buf.length) {
          if (buf.length > limit) {
            drain(in, DRAIN_BYTES);
            return Optional.empty();
          }
          buf = Arrays.copyOf(buf, Math.min(limit + 1, buf.length * 2));
        }
        int n = in.read(buf, len, buf.length - len);
        if (n < 0) {
          break;
        }
        len += n;
      }
      return len > limit ? Optional.empty() : Optional.of(Arrays.copyOf(buf, len));
    }
  }

  /** Reads and drops what is left, when that is at most {@link #DRAIN_BYTES}. */
  private static void drain(InputStream in, long left) throws IOException {
    if (left > DRAIN_BYTES) {
      return;
    }
    byte[] sink = new byte[16 * 1024];
    long read = 0;
    int n;
    while (read < DRAIN_BYTES && (n = in.read(sink)) >= 0) {
      read += n;
    }
  }
}
