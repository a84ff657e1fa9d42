package dev.pushrelay.model;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Generators of hostile JSON for the parser property tests, and a meter of what a call allocates. */
final class FuzzInputs {
  /** Deeper than {@link dev.pushrelay.json.JsonCodec#MAX_DEPTH}, so both sides of the limit are tried. */
  static final int MAX_GENERATED_DEPTH = 40;

  private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

  static {
    // first use loads and initialises Jackson and the JDK's decoders: keep that out of the measurements
    for (String s : List.of("null", "{}", "[1.5e3]", "{\"userId\":\"u\",\"event\":\"e\",\"data\":{\"a\":[1]}}",
        "{\"type\":\"ack\",\"id\":\"x\"}", "{\"type\":\"ping\"}", "[[[", "\"\\ud800\"", "1e9999999999")) {
      try {
        SendRequest.parse(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      } catch (InvalidRequestException ignored) {
        // expected for most
      }
      try {
        ClientFrame.parse(s);
      } catch (ClientFrame.BadFrameException ignored) {
        // expected for most
      }
    }
    try {
      SendRequest.parse(new byte[] {(byte) 0xff});
    } catch (InvalidRequestException ignored) {
      // expected
    }
  }

  private FuzzInputs() {}

  /** Bytes the current thread allocates while running {@code action}. */
  static long allocatedBytes(ThrowingRunnable action) throws Exception {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    action.run();
    return THREADS.getCurrentThreadAllocatedBytes() - before;
  }

  /** Parsing may cost a constant factor of the input, never more (no quadratic or unbounded growth). */
  static long allocationBudget(int inputLength) {
    return 64L * inputLength + 8L * 1024 * 1024;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /**
   * Any JSON value, nested up to {@link #MAX_GENERATED_DEPTH} levels: a leaf wrapped in a list of
   * levels, each an array or an object with a few flat siblings. Built without recursive arbitraries,
   * so generating stays linear in the depth.
   */
  static Arbitrary<String> json(List<String> interestingKeys) {
    Arbitrary<Level> level = Combinators.combine(Arbitraries.of(true, false), key(interestingKeys),
        Combinators.combine(key(interestingKeys), scalar()).as((k, v) -> quote(k) + ":" + v).list().ofMaxSize(3),
        scalar().list().ofMaxSize(3))
        .as(Level::new);
    return Combinators.combine(scalar(), level.list().ofMaxSize(MAX_GENERATED_DEPTH))
        .as((leaf, levels) -> {
          String value = leaf;
          for (Level l : levels) {
            value = l.wrap(value);
          }
          return value;
        });
  }

  private record Level(boolean array, String key, List<String> members, List<String> elements) {
    String wrap(String inner) {
      if (array) {
        return "[" + inner + elements.stream().map(e -> "," + e).collect(Collectors.joining()) + "]";
      }
      return "{" + quote(key) + ":" + inner + members.stream().map(m -> "," + m).collect(Collectors.joining()) + "}";
    }
  }

  static Arbitrary<String> key(List<String> interesting) {
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, Arbitraries.of(interesting)),
        net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMaxLength(80)));
  }

  /** Numbers, strings, literals: ordinary ones and the edge cases parsers trip over. */
  static Arbitrary<String> scalar() {
    return Arbitraries.oneOf(
        Arbitraries.of("null", "true", "false", "0", "-0", "-0.0", "1.50", "1e999999", "1E-999999",
            "1e9999999999", "-1E+2147483648", "0.0e2147483647", "123456789012345678901234567890",
            "9".repeat(65), "1." + "0".repeat(70), "NaN", "Infinity", "01", "1.", ".5", "+1", "\"\\ud800\"",
            "\"\\udc00x\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"<script>alert(1)</script>\"", "\"a\\\"b\"",
            "\"" + "x".repeat(200) + "\"", "[]", "{}", "\"2026-01-01T00:00:00Z\"", "\"normal\"", "\"high\""),
        Arbitraries.integers().map(String::valueOf),
        Arbitraries.longs().map(String::valueOf),
        Arbitraries.doubles().map(String::valueOf).filter(d -> !d.contains("N") && !d.contains("I")),
        Arbitraries.bigDecimals().map(Object::toString),
        Arbitraries.strings().all().ofMaxLength(40).map(FuzzInputs::quote),
        Arbitraries.strings().withChars("abcXYZ019._:@|+=-/ ").ofMinLength(0).ofMaxLength(140).map(FuzzInputs::quote));
  }

  /** A JSON string literal of {@code s}, with the escapes JSON needs (lone surrogates go through as they are). */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
