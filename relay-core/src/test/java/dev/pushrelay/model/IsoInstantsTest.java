package dev.pushrelay.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** {@link IsoInstants#parse} answers as {@link Instant#parse} does, for every text. */
class IsoInstantsTest {
  @Property(tries = 3000)
  void readsWhatInstantWritesAsTheJdkDoes(@ForAll("instants") Instant t) {
    assertEquals(Instant.parse(t.toString()), IsoInstants.parse(t.toString()));
  }

  @Provide
  Arbitrary<Instant> instants() {
    Arbitrary<Long> seconds = Arbitraries.longs().between(Instant.parse("0000-01-01T00:00:00Z").getEpochSecond(),
        Instant.parse("9999-12-31T23:59:59Z").getEpochSecond());
    Arbitrary<Integer> nanos = Arbitraries.oneOf(Arbitraries.just(0), Arbitraries.integers().between(0, 999)
        .map(ms -> ms * 1_000_000), Arbitraries.integers().between(0, 999_999_999));
    return seconds.flatMap(s -> nanos.map(n -> Instant.ofEpochSecond(s, n)));
  }

  @Property(tries = 3000)
  void answersAnyOtherTextAsTheJdkDoes(@ForAll("nearlyInstants") String text) {
    Instant expected;
    try {
      expected = Instant.parse(text);
    } catch (DateTimeParseException e) {
      assertThrows(DateTimeParseException.class, () -> IsoInstants.parse(text), text);
      return;
    }
    assertEquals(expected, IsoInstants.parse(text), text);
  }

  /** Instants with one character changed, dropped or added: the shapes a quick reader could get wrong. */
  @Provide
  Arbitrary<String> nearlyInstants() {
    Arbitrary<String> base = instants().map(Instant::toString);
    Arbitrary<Character> odd = Arbitraries.of('0', '1', '9', '3', '6', '-', ':', '.', 'T', 'Z', 'z', '+', ' ', 'x');
    return Arbitraries.oneOf(
        base.flatMap(s -> Arbitraries.integers().between(0, s.length() - 1)
            .flatMap(i -> odd.map(c -> s.substring(0, i) + c + s.substring(i + 1)))),
        base.flatMap(s -> Arbitraries.integers().between(0, s.length() - 1)
            .map(i -> s.substring(0, i) + s.substring(i + 1))),
        base.flatMap(s -> Arbitraries.integers().between(0, s.length())
            .flatMap(i -> odd.map(c -> s.substring(0, i) + c + s.substring(i)))));
  }

  @Test
  void datesAndTimesOutOfRangeAreAnsweredAsTheJdkAnswersThem() {
    for (String text : List.of("2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-32T00:00:00Z",
        "2026-12-07T24:00:00Z", "2026-12-07T23:60:00Z", "2026-12-07T23:59:59.Z", "2026-12-07T23:59:59.1234567890Z",
        "2026-12-07t23:59:59z", "+2026-12-07T23:59:59Z", "2024-02-29T23:59:60Z", "2026-12-07T23:59:59.5Z",
        "2026-12-07T23:59:59+01:00", "-001-12-07T23:59:59Z")) {
      answersAnyOtherTextAsTheJdkDoes(text);
    }
    assertThrows(DateTimeParseException.class, () -> IsoInstants.parse("2026-02-29T00:00:00Z"), "no such day");
  }
}
