package dev.pushrelay.functions.http;

import com.google.cloud.functions.HttpRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Optional;

/** Reads a request body up to a limit, so an oversize body costs no more than the limit. */
public final class BodyReader {
  private BodyReader() {}

  /** The body, or empty when it is longer than {@code limit} bytes. */
  public static Optional<byte[]> read(HttpRequest request, int limit) throws IOException {
    if (request.getContentLength() > limit) {
      return Optional.empty();
    }
    byte[] buf = new byte[Math.min(limit + 1, 16 * 1024)];
    int len = 0;
    try (InputStream in = request.getInputStream()) {
      while (true) {
        if (len == buf.length) {
          if (buf.length > limit) {
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
    }
    return len > limit ? Optional.empty() : Optional.of(Arrays.copyOf(buf, len));
  }
}
