package dev.pushrelay.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link ClientFrame#parse} on hostile frames (Jetty hands it at most 16 KiB of valid UTF-16 text):
 * a frame or a {@link ClientFrame.BadFrameException} with a known code and a fixed message, never
 * anything else, within a constant factor of the input in allocation.
 */
class ClientFramePropertyTest {
  private static final List<String> KEYS = List.of("type", "id");
  private static final Set<String> CODES = Set.of("bad_frame", "unknown_type");
  private static final Set<String> MESSAGES = Set.of("frame is not valid JSON",
      "frame must be a JSON object with a string type", "ack needs the id of a message", "unknown frame type");

  private static void parsesOrRefuses(String frame) throws Exception {
    long allocated = FuzzInputs.allocatedBytes(() -> {
      try {
        ClientFrame parsed = ClientFrame.parse(frame);
        if (parsed instanceof ClientFrame.Ack ack) {
          assertTrue(Limits.MESSAGE_ID.matcher(ack.id()).matches());
        }
      } catch (ClientFrame.BadFrameException e) {
        assertTrue(CODES.contains(e.code()), e.code());
        assertTrue(MESSAGES.contains(e.getMessage()), "error frames never echo the input: " + e.getMessage());
      }
    });
    assertTrue(allocated <= FuzzInputs.allocationBudget(frame.length() * 3),
        allocated + " bytes allocated for " + frame.length() + " characters");
  }

  /**
   * An ack as clients write it is read without a tree; the same frame with a space after it (valid JSON,
   * read as a tree) gives the same frame, or the same refusal, whatever the id holds.
   */
  @Property(tries = 1000)
  void anAckAsWrittenReadsAsItsJsonDoes(@ForAll("ackIds") String id) throws Exception {
    String frame = ClientFrame.ACK_AS_WRITTEN + id + "\"}";
    Object fast = outcome(frame);
    org.junit.jupiter.api.Assertions.assertEquals(outcome(frame + " "), fast, frame);
    if (Limits.MESSAGE_ID.matcher(id).matches()) {
      org.junit.jupiter.api.Assertions.assertEquals(new ClientFrame.Ack(id), fast);
    }
  }

  /** The frame parsed, or the code and message of its refusal. */
  private static Object outcome(String frame) {
    try {
      return ClientFrame.parse(frame);
    } catch (ClientFrame.BadFrameException e) {
      return e.code() + ": " + e.getMessage();
    }
  }

  @Provide
  Arbitrary<String> ackIds() {
    Arbitrary<String> valid = Arbitraries.strings().withCharRange('A', 'Z').withCharRange('a', 'z')
        .withCharRange('0', '9').withChars("._:+=-".toCharArray()).ofMinLength(1).ofMaxLength(130);
    Arbitrary<String> hostile = Arbitraries.strings().withChars("a1\"\\}{,: \u00e9\ud83d\ude00".toCharArray())
        .ofMaxLength(20);
    Arbitrary<String> mixed = Combinators.combine(valid, hostile, valid).as((a, b, c) -> a + b + c);
    return Arbitraries.oneOf(valid, hostile, mixed);
  }

  @Property(tries = 500)
  void anyText(@ForAll("text") String frame) throws Exception {
    parsesOrRefuses(frame);
  }

  @Property(tries = 500)
  void anyJson(@ForAll("json") String frame) throws Exception {
    parsesOrRefuses(frame);
  }

  @Property(tries = 500)
  void framesWithAnyTypeAndId(@ForAll("frames") String frame) throws Exception {
    parsesOrRefuses(frame);
  }

  @Property(tries = 20)
  void framesAtTheSizeLimit(@ForAll("large") String frame) throws Exception {
    parsesOrRefuses(frame);
  }

  @Provide
  Arbitrary<String> text() {
    return Arbitraries.strings().all().ofMaxLength(2000);
  }

  @Provide
  Arbitrary<String> json() {
    return FuzzInputs.json(KEYS);
  }

  @Provide
  Arbitrary<String> frames() {
    Arbitrary<String> type = Arbitraries.oneOf(Arbitraries.of("\"ping\"", "\"ack\"", "\"PING\"", "\"ack \""),
        FuzzInputs.scalar());
    return Combinators.combine(type, FuzzInputs.json(KEYS), Arbitraries.of(true, false))
        .as((t, id, withId) -> "{\"type\":" + t + (withId ? ",\"id\":" + id : "") + "}");
  }

  @Provide
  Arbitrary<String> large() {
    int limit = 16 * 1024;
    return Arbitraries.oneOf(
        Arbitraries.just("[".repeat(limit / 2) + "]".repeat(limit / 2)),
        Arbitraries.just("{\"type\":\"ack\",\"id\":\"" + "a".repeat(limit - 30) + "\"}"),
        Arbitraries.just("[" + "1e999999,".repeat(limit / 10) + "0]"),
        Arbitraries.just("{" + "\"k\":{},".repeat(limit / 8) + "\"type\":\"ping\"}"),
        Arbitraries.strings().all().ofLength(limit / 3));
  }
}
