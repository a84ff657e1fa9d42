package dev.pushrelay.examples.echo;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.cloud.pubsub.v1.AckReplyConsumer;
import com.google.cloud.pubsub.v1.Subscriber;
import com.google.cloud.pubsub.v1.SubscriptionAdminClient;
import com.google.pubsub.v1.PubsubMessage;
import com.google.pubsub.v1.Subscription;
import dev.pushrelay.config.EnvReader;
import dev.pushrelay.gcp.GcpClients;
import dev.pushrelay.gcp.GcpEndpoints;
import dev.pushrelay.logging.JsonLogging;
import dev.pushrelay.logging.Pseudonyms;
import dev.pushrelay.topology.Topology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small backend for the relay's upstream topic, as a user would write one: it subscribes to
 * {@code relay-upstream} (a subscription of its own, with message ordering, filtered to client
 * messages where Pub/Sub filters) and answers every {@code publish} whose event is {@code echo} with a
 * message to the same user through the send API. A message is acked once the send API answered 202, or
 * refused it for good (a 4xx but 408 and 429: {@link SendAnswer}); else nacked, so Pub/Sub delivers it
 * again.
 *
 * <p>Environment: {@code RELAY_SEND_URL} (the send function's base URL), {@code RELAY_SEND_API_KEY}
 * (optional), {@code RELAY_ECHO_SUBSCRIPTION} (default {@code relay-upstream-echo}), and the usual
 * {@code GOOGLE_CLOUD_PROJECT} and emulator hosts.
 */
public final class EchoBackend implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EchoBackend.class);
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(10);

  private final GcpClients clients;
  private final URI sendUri;
  private final Optional<String> apiKey;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(SEND_TIMEOUT).build();
  private final Subscriber subscriber;

  public EchoBackend(GcpClients clients, Topology topology, String subscription, URI sendUrl, Optional<String> apiKey) {
    this.clients = clients;
    this.sendUri = sendUrl.resolve("/v1/messages");
    this.apiKey = apiKey;
    try (SubscriptionAdminClient admin = clients.subscriptionAdmin()) {
      admin.createSubscription(Subscription.newBuilder()
          .setName(clients.subscription(subscription).toString())
          .setTopic(clients.topic(topology.upstreamTopic()).toString())
          .setEnableMessageOrdering(true)
          .setFilter("attributes.type = \"message\" AND attributes.event = \"" + EchoReply.EVENT + "\"")
          .setAckDeadlineSeconds(30)
          .build());
    } catch (AlreadyExistsException e) {
      // started before: keep reading it
    }
    this.subscriber = clients.subscriber(subscription, this::receive, 1, 30);
  }

  public EchoBackend start() {
    subscriber.startAsync().awaitRunning();
    LOG.info("echo backend reading {}", subscriber.getSubscriptionNameString());
    return this;
  }

  private void receive(PubsubMessage message, AckReplyConsumer reply) {
    Optional<EchoReply> echo = EchoReply.to(message.getAttributesMap(), message.getData().toStringUtf8());
    if (echo.isEmpty()) {
      reply.ack(); // not ours (the emulator ignores filters)
      return;
    }
    HttpRequest.Builder send = HttpRequest.newBuilder(sendUri).timeout(SEND_TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(echo.get().body()));
    apiKey.ifPresent(key -> send.header("X-Relay-Api-Key", key));
    http.sendAsync(send.build(), HttpResponse.BodyHandlers.discarding()).whenComplete((response, failed) -> {
      SendAnswer answer = failed != null ? SendAnswer.RETRY : SendAnswer.of(response.statusCode());
      String user = Pseudonyms.user(echo.get().userId());
      String why = failed != null ? failed.toString() : "status " + response.statusCode();
      switch (answer) {
        case ACCEPTED -> { }
        case REFUSED -> LOG.warn("echo to user {} refused by the send API ({}): dropped, a retry would be refused "
            + "again", user, why);
        case RETRY -> LOG.warn("echo to user {} not accepted ({}): Pub/Sub delivers the publish again", user, why);
      }
      if (answer.acks()) {
        reply.ack();
      } else {
        reply.nack();
      }
    });
  }

  @Override
  public void close() {
    subscriber.stopAsync().awaitTerminated();
    clients.close();
  }

  public static void main(String[] args) throws Exception {
    JsonLogging.install();
    EnvReader env = new EnvReader(System.getenv());
    GcpEndpoints endpoints = GcpEndpoints.read(env);
    URI sendUrl = URI.create(env.required("RELAY_SEND_URL"));
    Optional<String> apiKey = env.optional("RELAY_SEND_API_KEY");
    String subscription = env.optional("RELAY_ECHO_SUBSCRIPTION").orElse("relay-upstream-echo");
    Optional<Pseudonyms> pseudonyms = Pseudonyms.read(env);
    env.finish();
    Pseudonyms.install(pseudonyms.orElseThrow());
    EchoBackend backend = new EchoBackend(new GcpClients(endpoints), Topology.standard(), subscription, sendUrl,
        apiKey).start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      backend.close();
      stopped.countDown();
    }, "echo-backend-stop"));
    stopped.await();
  }
}
