package dev.pushrelay.infra;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of the shell to read the scripts cloudbuild.yaml and scripts/deploy run: which
 * programs a script calls (the first word of every simple command, command substitutions and
 * pipelines included) and how a command line splits into words. Not a shell: it leaves out what it
 * cannot read with certainty (a command that is a variable, words inside quotes) rather than guess.
 */
final class Shell {
  /** Keywords and builtins of bash (and POSIX sh): never a program on the image. */
  static final Set<String> BUILTINS = Set.of("if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done",
      "case", "esac", "in", "function", "select", "time", "return", "exit", "break", "continue", "set", "unset",
      "local", "export", "readonly", "declare", "typeset", "shopt", "trap", "wait", "test", "[", "[[", "]]", "!", ":",
      "true", "false", "cd", "pwd", "source", ".", "eval", "exec", "echo", "printf", "read", "shift", "umask",
      "command", "type", "hash", "kill", "let", "builtin", "getopts", "alias", "ulimit", "jobs", "fg", "bg", "{", "}");
  /** NAME=value, NAME+=value, NAME[i]=value: a variable assignment, not a command. */
  private static final String ASSIGNMENT_PREFIX = "[A-Za-z_][A-Za-z0-9_]*(?:\\[[^\\]]*])?\\+?=";
  private static final String ASSIGNMENT = ASSIGNMENT_PREFIX + ".*";
  private static final Pattern FUNCTION = Pattern.compile("(?m)^\\s*(?:function\\s+)?([A-Za-z_][A-Za-z0-9_]*)\\s*\\(\\)\\s*\\{");
  private static final Pattern ARITHMETIC = Pattern.compile("\\$?\\(\\([^()]*\\)\\)");
  private static final Pattern WORD = Pattern.compile("[A-Za-z][A-Za-z0-9_.+-]*|[A-Za-z0-9_./-]+\\.(?:sh|mjs|js|py)");

  private Shell() {}

  /** Programs (and repository scripts, as paths) the script runs, in order of first use. */
  static Set<String> commands(String script) {
    Set<String> functions = new LinkedHashSet<>();
    Matcher f = FUNCTION.matcher(script);
    while (f.find()) {
      functions.add(f.group(1));
    }
    String text = script.replace("\\\n", " ");
    StringBuilder uncommented = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      uncommented.append(line.strip().startsWith("#") ? "" : line).append('\n');
    }
    text = uncommented.toString();
    for (String previous = null; !text.equals(previous); ) {
      previous = text;
      text = ARITHMETIC.matcher(text).replaceAll(" ");
    }
    Set<String> out = new LinkedHashSet<>();
    for (String segment : segments(text)) {
      List<String> words = split(segment);
      int i = 0;
      while (i < words.size() && (words.get(i).matches(ASSIGNMENT) || words.get(i).equals("!")
          || words.get(i).equals("{") || words.get(i).equals("then") || words.get(i).equals("do")
          || words.get(i).equals("else") || words.get(i).equals("time"))) {
        i++;
      }
      if (i >= words.size()) {
        continue;
      }
      String raw = rawFirstWord(segment, words.get(i));
      String word = words.get(i);
      if (raw == null || !WORD.matcher(word).matches() || BUILTINS.contains(word) || functions.contains(word)) {
        continue;
      }
      out.add(word);
    }
    return out;
  }

  /** The word as written, or null when it was quoted or came from an expansion (then it is not read). */
  private static String rawFirstWord(String segment, String word) {
    String s = segment.strip();
    for (String skip : List.of("!", "{", "then", "do", "else", "time")) {
      while (s.startsWith(skip + " ")) {
        s = s.substring(skip.length()).strip();
      }
    }
    while (s.matches("(?s)" + ASSIGNMENT_PREFIX + "\\S*\\s+.*")) {
      s = s.replaceFirst("(?s)^" + ASSIGNMENT_PREFIX + "(\"[^\"]*\"|'[^']*'|\\S)*\\s+", "");
    }
    return s.startsWith(word) ? word : null;
  }

  /**
   * Simple commands: split at unquoted ; & | newline ( ) and at command substitutions, which are
   * scanned as scripts of their own (their quotes start afresh).
   */
  static List<String> segments(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    // quote state per nesting level of $( ): 0 none, 1 single, 2 double; and ( depth
    List<int[]> stack = new ArrayList<>();
    stack.add(new int[] {0, 0});
    // a segment that starts inside quotes (the rest of "… $(cmd) …") is text, never a command
    boolean[] startsQuoted = {false};
    Runnable cut = () -> {
      if (!startsQuoted[0]) {
        out.add(current.toString());
      }
      current.setLength(0);
      startsQuoted[0] = stack.get(stack.size() - 1)[0] != 0;
    };
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      int[] frame = stack.get(stack.size() - 1);
      int quote = frame[0];
      if (quote == 1) {
        if (c == '\'') {
          frame[0] = 0;
        }
        current.append(c);
        continue;
      }
      if (c == '\\' && i + 1 < text.length()) {
        current.append(c).append(text.charAt(++i));
        continue;
      }
      if (c == '$' && i + 1 < text.length() && text.charAt(i + 1) == '(') {
        stack.add(new int[] {0, 0});
        cut.run();
        i++;
        continue;
      }
      if (quote == 2) {
        if (c == '"') {
          frame[0] = 0;
        }
        current.append(c);
        continue;
      }
      switch (c) {
        case '\'' -> {
          frame[0] = 1;
          current.append(c);
        }
        case '"' -> {
          frame[0] = 2;
          current.append(c);
        }
        case '(' -> {
          frame[1]++;
          cut.run();
        }
        case ')' -> {
          if (frame[1] > 0) {
            frame[1]--;
          } else if (stack.size() > 1) {
            stack.remove(stack.size() - 1);
          }
          cut.run();
        }
        case ';', '&', '|', '\n', '`' -> cut.run();
        default -> current.append(c);
      }
    }
    cut.run();
    out.removeIf(String::isBlank);
    return out;
  }

  /** Words of one command line, quotes removed (no expansion: $VAR and $(…) stay as written). */
  static List<String> split(String line) {
    List<String> out = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    boolean inWord = false;
    int quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote == 1) {
        if (c == '\'') {
          quote = 0;
        } else {
          word.append(c);
        }
        continue;
      }
      if (quote == 2) {
        if (c == '"') {
          quote = 0;
        } else if (c == '\\' && i + 1 < line.length() && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
          word.append(line.charAt(++i));
        } else {
          word.append(c);
        }
        continue;
      }
      if (Character.isWhitespace(c)) {
        if (inWord) {
          out.add(word.toString());
          word.setLength(0);
          inWord = false;
        }
        continue;
      }
      inWord = true;
      if (c == '\'') {
        quote = 1;
      } else if (c == '"') {
        quote = 2;
      } else if (c == '\\' && i + 1 < line.length()) {
        word.append(line.charAt(++i));
      } else {
        word.append(c);
      }
    }
    if (inWord) {
      out.add(word.toString());
    }
    return out;
  }
}
