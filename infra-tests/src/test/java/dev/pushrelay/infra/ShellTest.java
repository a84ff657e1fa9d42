package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The shell reading CloudBuildStepsTest relies on. */
class ShellTest {
  @Test
  void findsTheProgramsOfPipelinesSubstitutionsAndListsButNotBuiltinsFunctionsOrVariables() {
    String script = """
        set -euo pipefail
        # comment: rm -rf /
        log() { printf '%s\\n' "$*" >&2; }
        out="$(foo --x | bar)" && baz "$(qux "$(quux)")"; "$JAVA" -version
        jars+=("$x") LC_ALL=C sort -u file
        if [[ -n "$a" ]]; then grep -q x y || { log "no x"; exit 1; }; fi
        n=$((n + 1)); ((n > 2)) && tail -1 f
        case "$v" in "" | "(unset)") echo "no" >&2 ;; *) sed -n 1p f ;; esac
        echo "wrote $out ($(ls lib | wc -l) jars on the classpath)"
        """;
    assertEquals(List.of("foo", "bar", "baz", "qux", "quux", "sort", "grep", "tail", "sed", "ls", "wc"),
        List.copyOf(Shell.commands(script)));
  }

  @Test
  void splitsWordsLikeTheShell() {
    assertEquals(List.of("mvn", "-pl", "!infra-tests,!clients/js", "-Dx=a b", "install"),
        Shell.split("mvn -pl '!infra-tests,!clients/js' \"-Dx=a b\" install"));
  }
}
