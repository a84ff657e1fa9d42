package dev.pushrelay.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pushrelay.config.ConfigException;
import dev.pushrelay.config.EnvReader;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.gcp.PubSubMessagePublisher;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.topology.Topology;
import dev.pushrelay.topology.TopologySettings;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The dead-letter operations from a shell ({@code scripts/dead-letters.sh} wraps it):
 *
 * <pre>
 *   list   [--all | --reason REASON | ID...] [--limit N] [--json]
 *   replay (--all | --reason REASON | ID...) [--limit N]
 *   purge  (--all | --reason REASON | ID...) [--limit N]
 * </pre>
 *
 * IDs are relay message ids (what the send API answered). It talks to the project in
 * {@code GOOGLE_CLOUD_PROJECT} with the caller's application default credentials, or to the emulator
 * when {@code PUBSUB_EMULATOR_HOST} is set. It never prints message data.
 */
public final class DeadLettersMain {
  static final int DEFAULT_LIMIT = 1000;
  static final String USAGE = """
      usage: dead-letters.sh list   [--all | --reason REASON | ID...] [--limit N] [--json]
             dead-letters.sh replay (--all | --reason REASON | ID...) [--limit N]
             dead-letters.sh purge  (--all | --reason REASON | ID...) [--limit N]
      reasons: no_connection_after_retries, invalid, expired, handed_back, delivery_failed""";

  private DeadLettersMain() {}

  /** A parsed command line. */
  record Command(String verb, DeadLetterSelection selection, int limit, boolean json) {}

  public static void main(String[] args) {
    JsonLogging.install();
    System.exit(run(args, System.getenv(), System.out, System.err, Clock.systemUTC()));
  }

  /** Runs one command; returns the exit code (0 done, 1 failed, 2 bad usage or configuration). */
  static int run(String[] args, Map<String, String> environment, PrintStream out, PrintStream err, Clock clock) {
    Command command;
    GcpEndpoints endpoints;
    Topology topology;
    try {
      command = parse(args);
      EnvReader env = new EnvReader(environment);
      endpoints = GcpEndpoints.read(env);
      topology = TopologySettings.read(env);
      env.finish();
    } catch (IllegalArgumentException | ConfigException e) {
      err.println(e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try (GcpClients clients = new GcpClients(endpoints);
        PubSubMessagePublisher publisher = new PubSubMessagePublisher(clients)) {
      DeadLetterQueue queue = new DeadLetterQueue(clients, topology, publisher);
      Instant now = clock.instant();
      switch (command.verb()) {
        case "list" -> print(queue.list(command.selection(), command.limit()), command.json(), now, out);
        case "replay" -> {
          List<DeadLetter> replayed = queue.replay(command.selection(), command.limit());
          out.println("replayed " + replayed.size() + " to " + topology.requestsTopic() + ": " + ids(replayed));
          if (replayed.stream().anyMatch(d -> d.reason().equals("expired"))) {
            out.println("note: expired messages keep their sentAt and ttlSeconds, so they expire again;"
                + " send them anew instead");
          }
        }
        case "purge" -> {
          List<DeadLetter> purged = queue.purge(command.selection(), command.limit());
          out.println("purged " + purged.size() + " from " + topology.deadLetterHoldSubscription() + ": "
              + ids(purged));
        }
        default -> throw new IllegalStateException(command.verb());
      }
      return 0;
    } catch (RuntimeException e) {
      err.println("dead-letter " + command.verb() + " failed: " + e);
      return 1;
    }
  }

  static Command parse(String[] args) {
    if (args.length == 0 || !List.of("list", "replay", "purge").contains(args[0])) {
      throw new IllegalArgumentException(args.length == 0 ? "no command" : "unknown command " + args[0]);
    }
    String verb = args[0];
    boolean all = false;
    boolean json = false;
    Optional<String> reason = Optional.empty();
    int limit = DEFAULT_LIMIT;
    Set<String> ids = new LinkedHashSet<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--all" -> all = true;
        case "--json" -> json = true;
        case "--reason" -> reason = Optional.of(value(args, ++i, a));
        case "--limit" -> {
          try {
            limit = Integer.parseInt(value(args, ++i, a));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--limit needs a number");
          }
          if (limit < 1) {
            throw new IllegalArgumentException("--limit must be at least 1");
          }
        }
        default -> {
          if (a.startsWith("--")) {
            throw new IllegalArgumentException("unknown option " + a);
          }
          ids.add(a);
        }
      }
    }
    if (verb.equals("list") && !all && reason.isEmpty() && ids.isEmpty()) {
      all = true;
    }
    if (json && !verb.equals("list")) {
      throw new IllegalArgumentException("--json is for list");
    }
    return new Command(verb, new DeadLetterSelection(all, reason, ids), limit, json);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static void print(List<DeadLetter> letters, boolean json, Instant now, PrintStream out) {
    if (json) {
      for (DeadLetter d : letters) {
        ObjectNode o = JsonCodec.object();
        o.put("messageId", d.messageId());
        o.put("userId", d.userId());
        o.put("reason", d.reason());
        o.put("detail", d.detail());
        o.put("deadLetteredAt", d.deadLetteredAt().toString());
        o.put("ageSeconds", d.age(now).toSeconds());
        out.println(JsonCodec.write(o));
      }
      return;
    }
    out.printf("%-38s %-24s %-28s %9s  %s%n", "MESSAGE_ID", "USER", "REASON", "AGE", "DETAIL");
    for (DeadLetter d : letters) {
      out.printf("%-38s %-24s %-28s %9s  %s%n", d.messageId(), d.userId(), d.reason(), age(d.age(now)), d.detail());
    }
    out.println(letters.size() + " dead letter" + (letters.size() == 1 ? "" : "s"));
  }

  static String age(Duration d) {
    long s = d.toSeconds();
    if (s < 120) {
      return s + "s";
    }
    if (s < 7200) {
      return (s / 60) + "m" + (s % 60) + "s";
    }
    if (s < 172_800) {
      return (s / 3600) + "h" + (s % 3600 / 60) + "m";
    }
    return (s / 86_400) + "d" + (s % 86_400 / 3600) + "h";
  }

  private static String ids(List<DeadLetter> letters) {
    List<String> ids = new ArrayList<>();
    letters.forEach(d -> ids.add(d.messageId()));
    return String.join(", ", ids);
  }
}
