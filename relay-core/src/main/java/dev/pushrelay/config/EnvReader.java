package dev.pushrelay.config;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads typed values from an environment map and collects every problem, so that a config record
 * can report all bad or missing variables at once via {@link #finish()}.
 */
public final class EnvReader {
  private final Map<String, String> env;
  private final List<String> problems = new ArrayList<>();

  public EnvReader(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public Optional<String> optional(String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  public String string(String name, String fallback) {
    return optional(name).orElse(fallback);
  }

  public String required(String name) {
    Optional<String> v = optional(name);
    if (v.isEmpty()) {
      problems.add(name + " is required");
      return "";
    }
    return v.get();
  }

  public int integer(String name, int fallback, int min, int max) {
    Optional<String> v = optional(name);
    if (v.isEmpty()) {
      return fallback;
    }
    try {
      int parsed = Integer.parseInt(v.get());
      if (parsed < min || parsed > max) {
        problems.add(name + " must be between " + min + " and " + max + ", was " + parsed);
        return fallback;
      }
      return parsed;
    } catch (NumberFormatException e) {
      problems.add(name + " must be a whole number, was '" + v.get() + "'");
      return fallback;
    }
  }

  public boolean flag(String name, boolean fallback) {
    Optional<String> v = optional(name);
    if (v.isEmpty()) {
      return fallback;
    }
    switch (v.get().toLowerCase()) {
      case "true", "1", "yes" -> {
        return true;
      }
      case "false", "0", "no" -> {
        return false;
      }
      default -> {
        problems.add(name + " must be true or false, was '" + v.get() + "'");
        return fallback;
      }
    }
  }

  /** A secret of at least {@code minBytes} bytes; its value never appears in a problem. */
  public byte[] secret(String name, int minBytes) {
    String v = required(name);
    byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
    if (!v.isEmpty() && bytes.length < minBytes) {
      problems.add(name + " must be at least " + minBytes + " bytes long");
    }
    return bytes;
  }

  public List<String> list(String name) {
    return optional(name)
        .map(v -> Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList())
        .orElse(List.of());
  }

  public Optional<URI> url(String name) {
    Optional<String> v = optional(name);
    if (v.isEmpty()) {
      return Optional.empty();
    }
    try {
      URI uri = URI.create(v.get());
      if (uri.getScheme() == null || uri.getHost() == null) {
        problems.add(name + " must be an absolute URL, was '" + v.get() + "'");
        return Optional.empty();
      }
      return Optional.of(uri);
    } catch (IllegalArgumentException e) {
      problems.add(name + " must be a URL, was '" + v.get() + "'");
      return Optional.empty();
    }
  }

  /** Adds a problem found by the caller, for checks across several variables. */
  public void problem(String text) {
    problems.add(text);
  }

  /** Throws a {@link ConfigException} naming every problem found so far. */
  public void finish() {
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }
}
