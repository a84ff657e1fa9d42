package dev.pushrelay.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pushrelay.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * {@link SendRequest#parse} on hostile input: whatever the bytes, it answers a request or an
 * {@link InvalidRequestException} whose field is safe to echo, never anything else, and its
 * allocation stays within a constant factor of the input.
 */
class SendRequestPropertyTest {
  private static final List<String> KEYS =
      List.of("userId", "userIds", "event", "data", "id", "ttlSeconds", "priority", "sentAt");
  private static final Set<String> FIELDS = Set.of("body", "(unnamed field)", "userId", "userIds", "event",
      "data", "id", "ttlSeconds", "priority", "sentAt");
  /** Unknown field names are echoed only when they are plain identifiers. */
  private static final Pattern SAFE_FIELD = Pattern.compile("[A-Za-z0-9_]{1,64}");

  private static void parsesOrRefuses(byte[] body) throws Exception {
    long allocated = FuzzInputs.allocatedBytes(() -> {
      try {
        SendRequest r = SendRequest.parse(body);
        assertTrue(r.userIds().size() >= 1 && r.userIds().size() <= Limits.MAX_RECIPIENTS);
      } catch (InvalidRequestException e) {
        assertTrue(FIELDS.contains(e.field()) || SAFE_FIELD.matcher(e.field()).matches(), e.field());
      }
    });
    assertTrue(allocated <= FuzzInputs.allocationBudget(body.length),
        allocated + " bytes allocated for " + body.length + " bytes of input");
  }

  @Property(tries = 500)
  void anyBytes(@ForAll @Size(max = 4096) byte[] body) throws Exception {
    parsesOrRefuses(body);
  }

  @Property(tries = 500)
  void anyText(@ForAll("text") String body) throws Exception {
    parsesOrRefuses(body.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 500)
  void anyJson(@ForAll("json") String body) throws Exception {
    parsesOrRefuses(body.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 500)
  void aRequestWithFieldsOfAnyShape(@ForAll("requests") String body) throws Exception {
    parsesOrRefuses(body.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 300)
  void aValidRequestWithBytesFlipped(@ForAll("validRequests") String body, @ForAll @Size(max = 8) List<Integer> at,
      @ForAll byte value) throws Exception {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    for (int position : at) {
      bytes[Math.floorMod(position, bytes.length)] = value;
    }
    parsesOrRefuses(bytes);
  }

  @Property(tries = 20)
  void largeBodiesNearTheLimit(@ForAll("largeBodies") byte[] body) throws Exception {
    parsesOrRefuses(body);
  }

  /** The positive side: a valid request survives every hop (send, relay-requests, deliveries) unchanged. */
  @Property(tries = 300)
  void validRequestsRoundTripThroughTheCanonicalForm(@ForAll("validRequests") String body) throws Exception {
    SendRequest request = SendRequest.parse(body.getBytes(StandardCharsets.UTF_8));
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    for (RelayMessage m : request.toMessages(() -> "gen-1", now, 3600)) {
      RelayMessage again = RelayMessage.parse(m.toJson().getBytes(StandardCharsets.UTF_8));
      assertEquals(m, again);
      assertEquals(m.dataJson() == null ? null : JsonCodec.read(m.dataJson()),
          again.dataJson() == null ? null : JsonCodec.read(again.dataJson()));
    }
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
  Arbitrary<String> requests() {
    Arbitrary<String> anyValue = FuzzInputs.json(KEYS);
    return Combinators.combine(Arbitraries.subsetOf(KEYS), anyValue.list().ofSize(KEYS.size()))
        .as((keys, values) -> {
          StringBuilder b = new StringBuilder("{");
          int i = 0;
          for (String k : keys) {
            b.append(i == 0 ? "" : ",").append(FuzzInputs.quote(k)).append(':').append(values.get(i++));
          }
          return b.append('}').toString();
        });
  }

  @Provide
  Arbitrary<String> validRequests() {
    Arbitrary<String> user = Arbitraries.strings().withChars("abcXYZ019._:@|+=-").ofMinLength(1).ofMaxLength(128)
        .filter(u -> !(u.startsWith("__") && u.endsWith("__")) && !u.equals(".") && !u.equals(".."));
    Arbitrary<String> event = Arbitraries.strings().withChars("abcXYZ019._:/-").ofMinLength(1).ofMaxLength(64);
    Arbitrary<String> data = FuzzInputs.json(KEYS).filter(d -> {
      try {
        // the data sits one level inside the request, so it must parse at that depth too
        JsonCodec.read("{\"data\":" + d + "}");
        return d.length() < 10_000 && !d.contains("\\ud8") && !d.contains("\\udc");
      } catch (Exception e) {
        return false;
      }
    });
    Arbitrary<String> target = Arbitraries.oneOf(
        user.map(u -> "\"userId\":" + FuzzInputs.quote(u)),
        user.list().uniqueElements().ofMinSize(1).ofMaxSize(5)
            .map(us -> "\"userIds\":[" + String.join(",", us.stream().map(FuzzInputs::quote).toList()) + "]"));
    return Combinators.combine(target, event, data, Arbitraries.integers().between(1, Limits.MAX_TTL_SECONDS))
        .as((t, e, d, ttl) -> "{" + t + ",\"event\":" + FuzzInputs.quote(e) + ",\"data\":" + d
            + ",\"ttlSeconds\":" + ttl + "}");
  }

  @Provide
  Arbitrary<byte[]> largeBodies() {
    return Arbitraries.oneOf(
        Arbitraries.integers().between(1, 40_000).map(n -> ("{\"userId\":\"u\",\"event\":\"e\",\"data\":["
            + "1e999999,".repeat(n) + "0]}").getBytes(StandardCharsets.UTF_8)),
        Arbitraries.integers().between(1, 60_000).map(n -> ("{\"userId\":\"u\",\"event\":\"e\",\"data\":{"
            + "\"k\":{},".repeat(n / 2) + "\"z\":0}}").getBytes(StandardCharsets.UTF_8)),
        Arbitraries.integers().between(1, Limits.MAX_BODY_BYTES / 2).map(n -> ("{\"userId\":\"u\",\"event\":\"e\","
            + "\"data\":\"" + "\\ud83d\\ude00".repeat(n / 12) + "\"}").getBytes(StandardCharsets.UTF_8)),
        Arbitraries.integers().between(1, 1000).map(n -> ("{\"userIds\":["
            + "\"u\",".repeat(n) + "\"v\"],\"event\":\"e\"}").getBytes(StandardCharsets.UTF_8)),
        Arbitraries.bytes().array(byte[].class).ofSize(Limits.MAX_BODY_BYTES + 1));
  }
}
