package dev.pushrelay.node.ws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TextAssemblyTest {
  @Test
  void fragmentsMakeOneMessageAndAWholeOneIsNotCopied() throws Exception {
    TextAssembly a = new TextAssembly(100);
    String whole = "{\"type\":\"ping\"}";
    assertSame(whole, a.add(whole, whole.length(), true).orElseThrow());
    assertEquals(Optional.empty(), a.add("{\"type\"", 7, false));
    assertEquals(Optional.empty(), a.add(":\"pi", 4, false));
    assertEquals(Optional.of("{\"type\":\"ping\"}"), a.add("ng\"}", 4, true));
    assertEquals(Optional.of("next"), a.add("next", 4, true), "nothing held between messages");
  }

  @Test
  void aMessageOverTheBoundIsRefusedAndItsRestDropped() throws Exception {
    TextAssembly a = new TextAssembly(10);
    a.add("123456", 6, false);
    assertThrows(TextAssembly.TooBigException.class, () -> a.add("78901", 5, false));
    assertEquals(Optional.empty(), a.add("more", 4, false), "the rest of that message is dropped");
    assertEquals(Optional.empty(), a.add("end", 3, true));
    assertEquals(Optional.of("ok"), a.add("ok", 2, true), "the next message is read again");
  }
}
