package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class TerraformFormatTest {
  @Test
  void terraformFilesAreCanonicallyFormatted() {
    Command.Result r = Command.run(Repo.root(), Duration.ofMinutes(1), List.of(
        Command.tool("terraform"), "fmt", "-check", "-recursive", "-diff", "-no-color", "terraform"));
    assertEquals(0, r.exitCode(), () -> "run `terraform fmt -recursive terraform`\n" + r.describe());
  }
}
