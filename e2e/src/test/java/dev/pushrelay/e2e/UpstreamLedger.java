package dev.pushrelay.e2e;

import com.google.pubsub.v1.PubsubMessage;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.json.JsonCodec;
import dev.pushrelay.testing.Await;
import dev.pushrelay.testing.CollectingSubscription;
import dev.pushrelay.testing.TestSocketClient;
import dev.pushrelay.topology.Topology;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What the backend heard on the upstream topic during a fault run, against what the clients were told
 * (and, for a node lost on purpose, whether each of its sockets was reported gone):
 * every publish answered {@code accepted} is on the topic under its socket's user, and once every socket
 * has closed and every lost node has been cleaned up, every socket a client saw established, and every
 * {@code connected} event, has a {@code disconnected} event.
 */
final class UpstreamLedger implements AutoCloseable {
  /** What the check found; {@link #problems} is empty when every promise held. */
  record Result(int accepted, int connections, int connectedEvents, int disconnectedEvents, int nodeLost,
      List<String> problems) {}

  private final CollectingSubscription topic;

  UpstreamLedger(GcpClients clients) {
    topic = CollectingSubscription.onTopic(clients, Topology.standard().upstreamTopic(),
        "backend-ledger-" + UUID.randomUUID().toString().substring(0, 8));
  }

  /** Checks the promises, waiting up to {@code timeout} for events still on their way. */
  Result check(List<ChaosWorkload.Socket> sockets, Duration timeout) throws InterruptedException {
    return lastAnswer("every upstream promise kept", timeout, () -> once(sockets), r -> r.problems().isEmpty());
  }

  /**
   * Waits until every connection in {@code held} has a {@code disconnected} event with {@code reason},
   * each after a {@code connected} one; what is still missing at {@code timeout} (empty when nothing is).
   */
  List<String> awaitDisconnected(Set<String> held, String reason, Duration timeout) throws InterruptedException {
    return lastAnswer("a disconnected event (" + reason + ") for each held connection", timeout,
        () -> missingDisconnects(held, reason), List::isEmpty);
  }

  /** What is missing for {@link #awaitDisconnected} now. */
  private List<String> missingDisconnects(Set<String> held, String reason) {
    Heard heard = heard();
    List<String> problems = new ArrayList<>();
    for (String c : held) {
      if (!heard.disconnected().getOrDefault(c, Set.of()).contains(reason)) {
        problems.add("no disconnected event (" + reason + ") for " + c);
      } else if (!heard.connected().contains(c)) {
        problems.add("disconnected without connected first: " + c);
      }
    }
    return problems;
  }

  /**
   * Asks {@code answer} again until it is {@code fine}, and returns it. When the timeout passes first, the
   * last answer is the result: the caller reports what it still finds wrong.
   */
  private static <T> T lastAnswer(String what, Duration timeout, Supplier<T> answer, Predicate<T> fine)
      throws InterruptedException {
    AtomicReference<T> last = new AtomicReference<>();
    try {
      return Await.value(what, timeout, () -> {
        last.set(answer.get());
        return fine.test(last.get()) ? Optional.of(last.get()) : Optional.empty();
      });
    } catch (TimeoutException e) {
      return last.get();
    }
  }

  /** What the topic held so far: publishes (id to user), connected ids, and each disconnected id's reasons. */
  private record Heard(Map<String, String> publishedBy, Set<String> connected, Map<String, Set<String>> disconnected) {
    int nodeLost() {
      return (int) disconnected.values().stream().filter(r -> r.contains("node_lost")).count();
    }
  }

  private Heard heard() {
    Map<String, String> publishedBy = new HashMap<>();
    Set<String> connected = new HashSet<>();
    Map<String, Set<String>> disconnected = new HashMap<>();
    for (PubsubMessage m : topic.received()) {
      String connection = m.getAttributesOrDefault("connection_id", "");
      switch (m.getAttributesOrDefault("type", "")) {
        case "message" -> publishedBy.put(idOf(m), m.getAttributesOrDefault("user_id", ""));
        case "connected" -> connected.add(connection);
        case "disconnected" -> disconnected.computeIfAbsent(connection, k -> new HashSet<>())
            .add(m.getAttributesOrDefault("reason", ""));
        default -> { }
      }
    }
    return new Heard(publishedBy, connected, disconnected);
  }

  private Result once(List<ChaosWorkload.Socket> sockets) {
    Heard heard = heard();
    List<String> problems = new ArrayList<>();
    int accepted = 0;
    for (ChaosWorkload.Socket s : sockets) {
      for (TestSocketClient.Frame f : s.client.frames()) {
        if (f.type().equals("accepted")) {
          accepted++;
          String id = f.json().path("id").asText();
          String user = heard.publishedBy().get(id);
          if (user == null) {
            problems.add("accepted publish not on the upstream topic: " + s.user + "/" + id);
          } else if (!user.equals(s.user)) {
            problems.add("publish " + id + " of " + s.user + " reached the backend as " + user);
          }
        }
      }
      if (!heard.disconnected().containsKey(s.connectionId)) {
        problems.add("no disconnected event for the socket " + s.user + "/" + s.connectionId);
      }
    }
    for (String c : heard.connected()) {
      if (!heard.disconnected().containsKey(c)) {
        problems.add("connected without disconnected: " + c);
      }
    }
    return new Result(accepted, sockets.size(), heard.connected().size(), heard.disconnected().size(),
        heard.nodeLost(), problems.stream().limit(20).toList());
  }

  private static String idOf(PubsubMessage m) {
    try {
      return JsonCodec.read(m.getData().toStringUtf8()).path("id").asText();
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() {
    topic.close();
  }
}
