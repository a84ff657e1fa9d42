package dev.pushrelay.gcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.firestore.v1.BatchWriteRequest;
import com.google.firestore.v1.CommitRequest;
import com.google.firestore.v1.Write;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Google API calls one deployable makes, written down when {@code RELAY_CALL_LEDGER} names a
 * directory: each distinct call (its gRPC method, the resources its request names and, for a
 * Firestore write, the kind of write) once, as a JSON line in {@code <directory>/<deployable>-<pid>.jsonl}.
 * The permission ledger in infra-tests maps every line to its IAM permissions and fails when
 * {@code terraform/} does not grant them to the deployable's account; the emulators check no IAM, so
 * this is what does. Pub/Sub calls are seen by this gRPC interceptor, Firestore calls at its RPC layer
 * ({@link LedgeredFirestoreRpc}): its client builds its channel itself. The test stack turns it on;
 * off, it records nothing and costs nothing.
 */
public final class CallLedger implements ClientInterceptor {
  /** The variable naming the directory the calls are written to. */
  public static final String VARIABLE = "RELAY_CALL_LEDGER";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Request fields that name the resource a call acts on, as the methods' IAM checks read them. */
  private static final List<String> RESOURCE_FIELDS =
      List.of("project", "name", "topic", "subscription", "database", "parent");
  private static final Pattern DATABASE = Pattern.compile("projects/[^/]+/databases/[^/]+");
  private static final CallLedger OFF = new CallLedger(null);
  /** One ledger per file: the clients and the telemetry exporters of a process write to the same one. */
  private static final Map<Path, CallLedger> OPEN = new ConcurrentHashMap<>();

  private final Path file;
  private final Set<String> written = ConcurrentHashMap.newKeySet();

  private CallLedger(Path file) {
    this.file = file;
  }

  /** Records nothing. */
  public static CallLedger off() {
    return OFF;
  }

  /** On when {@code RELAY_CALL_LEDGER} is set; {@code deployable} names the file (socket-node, send-function…). */
  public static CallLedger fromEnvironment(String deployable, Map<String, String> environment) {
    String dir = environment.getOrDefault(VARIABLE, "");
    if (dir.isBlank()) {
      return OFF;
    }
    try {
      Path directory = Files.createDirectories(Path.of(dir));
      return OPEN.computeIfAbsent(directory.resolve(deployable + "-" + ProcessHandle.current().pid() + ".jsonl"),
          CallLedger::new);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the call ledger's directory " + dir, e);
    }
  }

  public boolean on() {
    return file != null;
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    ClientCall<Q, R> call = next.newCall(method, options);
    if (!on()) {
      return call;
    }
    return new SimpleForwardingClientCall<>(call) {
      private boolean first = true;

      @Override
      public void sendMessage(Q message) {
        // a stream's first request names the resource; the ones after it (acks on a pull stream) do not
        if (first) {
          first = false;
          record(method.getFullMethodName(), message);
        }
        super.sendMessage(message);
      }
    };
  }

  /** Writes the call down unless the same call was written before. */
  void record(String method, Object request) {
    if (!on()) {
      return;
    }
    Map<String, String> resources = resources(request);
    for (String write : writeKinds(request)) {
      ObjectNode line = JSON.createObjectNode().put("method", method);
      if (!write.isEmpty()) {
        line.put("write", write);
      }
      resources.forEach(line.putObject("resources")::put);
      String text = line.toString();
      if (written.add(text)) {
        append(text);
      }
    }
  }

  private synchronized void append(String line) {
    try {
      Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the call ledger " + file, e);
    }
  }

  /** The request's resource names, by field: a topic, a subscription, a project, a database. */
  static Map<String, String> resources(Object request) {
    Map<String, String> found = new TreeMap<>();
    if (request instanceof Message m) {
      for (String name : RESOURCE_FIELDS) {
        FieldDescriptor field = m.getDescriptorForType().findFieldByName(name);
        if (field != null && field.getJavaType() == FieldDescriptor.JavaType.STRING && !field.isRepeated()) {
          String value = (String) m.getField(field);
          if (!value.isEmpty()) {
            found.put(name, database(value));
          }
        }
      }
    }
    return found;
  }

  /**
   * A Firestore path cut to its database, where Firestore checks every permission: a document's path
   * would hold a user id, and the ledger a line per user.
   */
  static String database(String path) {
    Matcher m = DATABASE.matcher(path);
    return m.lookingAt() ? m.group() : path;
  }

  /**
   * The kinds of Firestore write a request makes, each checked against its own permission: create (the
   * document must not exist), update (it must), set (either: create and update), delete. One empty kind
   * for a request that writes nothing.
   */
  static Set<String> writeKinds(Object request) {
    List<Write> writes = request instanceof CommitRequest c ? c.getWritesList()
        : request instanceof BatchWriteRequest b ? b.getWritesList() : List.of();
    Set<String> kinds = new TreeSet<>();
    for (Write w : writes) {
      kinds.add(kind(w));
    }
    return kinds.isEmpty() ? Set.of("") : kinds;
  }

  static String kind(Write w) {
    if (w.hasDelete()) {
      return "delete";
    }
    if (w.hasTransform()) {
      return "update";
    }
    if (w.hasCurrentDocument()) {
      return w.getCurrentDocument().hasExists() && !w.getCurrentDocument().getExists() ? "create" : "update";
    }
    return "set";
  }
}
