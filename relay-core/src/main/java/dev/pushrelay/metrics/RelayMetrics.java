package dev.pushrelay.metrics;

import dev.pushrelay.model.DeadLetterReason;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongGauge;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * Every instrument of the relay, one method per event. The names are a contract: the alert policies
 * and the dashboard in {@code terraform/monitoring.tf} and the queries in the README use them. No
 * attribute ever holds a user id, a message id or payload: the series stay few and carry no data.
 */
public final class RelayMetrics {
  public static final String CONNECTION_ATTEMPTS = "websocket.connection.attempts";
  public static final String CONNECTION_TIME = "websocket.connection.time";
  public static final String CONNECTIONS_ACTIVE = "websocket.connections.active";
  public static final String MESSAGE_DELIVERY = "websocket.message.delivery";
  public static final String DELIVERY_LATENCY = "relay.delivery.latency";
  public static final String ROUTE_ATTEMPTS = "relay.route.attempts";
  public static final String MAILBOX_PARKED = "relay.mailbox.parked";
  public static final String MAILBOX_DRAINED = "relay.mailbox.drained";
  public static final String DEAD_LETTER = "relay.dead_letter";
  public static final String MESSAGES_ACCEPTED = "relay.messages.accepted";
  public static final String FIRESTORE_READS = "relay.firestore.reads";
  public static final String FIRESTORE_WRITES = "relay.firestore.writes";
  public static final String PUBSUB_PUBLISHES = "relay.pubsub.publishes";
  public static final String PUBSUB_DELIVERIES = "relay.pubsub.deliveries";
  public static final String UPSTREAM_PUBLISHES = "relay.upstream.publishes";
  public static final String CONNECTION_EVENTS = "relay.upstream.connection_events";
  public static final String SOCKET_EVENTS = "relay.socket.events";
  public static final AttributeKey<String> CODE = AttributeKey.stringKey("code");
  public static final AttributeKey<String> TYPE = AttributeKey.stringKey("type");

  public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");
  public static final AttributeKey<String> REASON = AttributeKey.stringKey("reason");
  /** How a message reached the socket: {@code live} (routed) or {@code mailbox} (drained on connect). */
  public static final AttributeKey<String> PATH = AttributeKey.stringKey("path");
  public static final AttributeKey<String> PART = AttributeKey.stringKey("part");
  public static final AttributeKey<String> TOPIC = AttributeKey.stringKey("topic");
  /** The kind of subscription a Pub/Sub delivery came on: {@code node} or {@code router}. */
  public static final AttributeKey<String> SUBSCRIPTION = AttributeKey.stringKey("subscription");

  public static final String PATH_LIVE = "live";
  public static final String PATH_MAILBOX = "mailbox";

  /** Seconds: handshake and socket-write times, up to a minute. */
  private static final List<Double> CONNECT_BUCKETS =
      List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0);
  /** Seconds: from accepted to written spans the retry backoff, so up to the message TTL's order. */
  private static final List<Double> LATENCY_BUCKETS = List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
      2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0);
  private static final List<Long> ATTEMPT_BUCKETS = List.of(1L, 2L, 3L, 4L, 5L, 7L, 10L, 15L, 20L, 30L, 50L, 100L);

  private final Meter meter;
  private final Attributes part;
  private final Map<ConnectionOutcome, Attributes> connectionOutcomes = new EnumMap<>(ConnectionOutcome.class);
  private final Map<DeliveryResult, Attributes> deliveryResults = new EnumMap<>(DeliveryResult.class);
  private final Map<DeadLetterReason, Attributes> reasons = new EnumMap<>(DeadLetterReason.class);
  private final LongCounter connectionAttempts;
  private final DoubleHistogram connectionTime;
  private final LongCounter messageDelivery;
  private final DoubleHistogram deliveryLatency;
  private final LongHistogram routeAttempts;
  private final LongCounter parked;
  private final LongCounter drained;
  private final LongCounter deadLetters;
  private final LongCounter accepted;
  private final LongCounter firestoreReads;
  private final LongCounter firestoreWrites;
  private final LongCounter publishes;
  private final LongCounter deliveries;
  private final LongCounter upstream;
  private final LongCounter connectionEvents;
  private final LongCounter socketEvents;

  public RelayMetrics(Meter meter, Part part) {
    this.meter = meter;
    this.part = Attributes.of(PART, part.wireName());
    for (ConnectionOutcome o : ConnectionOutcome.values()) {
      connectionOutcomes.put(o, Attributes.of(OUTCOME, o.wireName()));
    }
    for (DeliveryResult r : DeliveryResult.values()) {
      deliveryResults.put(r, Attributes.of(OUTCOME, r.wireName()));
    }
    for (DeadLetterReason r : DeadLetterReason.values()) {
      reasons.put(r, Attributes.of(REASON, r.wireName()));
    }
    connectionAttempts = meter.counterBuilder(CONNECTION_ATTEMPTS).setUnit("{attempt}")
        .setDescription("WebSocket connection attempts by outcome").build();
    connectionTime = meter.histogramBuilder(CONNECTION_TIME).setUnit("s")
        .setDescription("Handshake start to connection_established sent")
        .setExplicitBucketBoundariesAdvice(CONNECT_BUCKETS).build();
    messageDelivery = meter.counterBuilder(MESSAGE_DELIVERY).setUnit("{message}")
        .setDescription("Messages a socket node handled, by outcome").build();
    deliveryLatency = meter.histogramBuilder(DELIVERY_LATENCY).setUnit("s")
        .setDescription("Accepted by the send function (sentAt) to settled on a socket: acked by the client, "
            + "or no longer waited for")
        .setExplicitBucketBoundariesAdvice(LATENCY_BUCKETS).build();
    routeAttempts = meter.histogramBuilder(ROUTE_ATTEMPTS).ofLongs().setUnit("{attempt}")
        .setDescription("Delivery attempts of the retry subscription until a message was routed to a node")
        .setExplicitBucketBoundariesAdvice(ATTEMPT_BUCKETS).build();
    parked = meter.counterBuilder(MAILBOX_PARKED).setUnit("{message}")
        .setDescription("Messages parked in a mailbox because their user held no socket").build();
    drained = meter.counterBuilder(MAILBOX_DRAINED).setUnit("{message}")
        .setDescription("Parked messages written to a socket right after connection_established").build();
    deadLetters = meter.counterBuilder(DEAD_LETTER).setUnit("{message}")
        .setDescription("Messages published to the dead-letter topic, by reason").build();
    accepted = meter.counterBuilder(MESSAGES_ACCEPTED).setUnit("{message}")
        .setDescription("Messages (one per recipient) the send function published and answered 202 for").build();
    firestoreReads = meter.counterBuilder(FIRESTORE_READS).setUnit("{document}")
        .setDescription("Firestore documents read (a query that finds none costs one)").build();
    firestoreWrites = meter.counterBuilder(FIRESTORE_WRITES).setUnit("{document}")
        .setDescription("Firestore documents written or deleted").build();
    publishes = meter.counterBuilder(PUBSUB_PUBLISHES).setUnit("{message}")
        .setDescription("Pub/Sub messages published, by topic and outcome").build();
    deliveries = meter.counterBuilder(PUBSUB_DELIVERIES).setUnit("{message}")
        .setDescription("Pub/Sub deliveries received (each one billed), by kind of subscription").build();
    upstream = meter.counterBuilder(UPSTREAM_PUBLISHES).setUnit("{frame}")
        .setDescription("Client publish frames, by outcome (accepted, or refused with its error code)").build();
    connectionEvents = meter.counterBuilder(CONNECTION_EVENTS).setUnit("{event}")
        .setDescription("connected and disconnected events published to the upstream topic, by type").build();
    socketEvents = meter.counterBuilder(SOCKET_EVENTS).setUnit("{event}")
        .setDescription("What a node did to one socket of its own accord, by type").build();
  }

  /** Instruments that record nothing: for code paths built without telemetry. */
  public static RelayMetrics noop(Part part) {
    return new RelayMetrics(OpenTelemetry.noop().getMeter(Telemetry.SCOPE), part);
  }

  public void connectionAttempt(ConnectionOutcome outcome) {
    connectionAttempts.add(1, connectionOutcomes.get(outcome));
  }

  /** Handshake start to {@code connection_established} written. */
  public void connectionTime(Duration d) {
    connectionTime.record(seconds(d));
  }

  /** Reports the sockets the node holds each time the metrics are read; close the handle at stop. */
  public ObservableLongGauge observeActiveConnections(IntSupplier sockets) {
    return meter.gaugeBuilder(CONNECTIONS_ACTIVE).ofLongs().setUnit("{connection}")
        .setDescription("WebSockets the node holds")
        .buildWithCallback(m -> m.record(sockets.getAsInt()));
  }

  public void delivery(DeliveryResult result) {
    messageDelivery.add(1, deliveryResults.get(result));
  }

  /**
   * {@code sentAt} to the delivery settled on a socket (the client's ack, or the node stopped waiting for
   * it: the ack quorum's bound or the unacked window); {@code path} is {@link #PATH_LIVE} or
   * {@link #PATH_MAILBOX}.
   */
  public void deliveryLatency(Duration d, String path) {
    deliveryLatency.record(Math.max(0, seconds(d)), Attributes.of(PATH, path));
  }

  /** The attempt on which a message was routed to the nodes holding its user. */
  public void routeAttempts(int attempts) {
    routeAttempts.record(attempts);
  }

  public void parked() {
    parked.add(1);
  }

  public void drained(int messages) {
    if (messages > 0) {
      drained.add(messages);
    }
  }

  public void deadLetter(DeadLetterReason reason) {
    deadLetters.add(1, reasons.get(reason));
  }

  public void accepted(int messages) {
    accepted.add(messages);
  }

  public void firestoreReads(long documents) {
    if (documents > 0) {
      firestoreReads.add(documents, part);
    }
  }

  public void firestoreWrites(long documents) {
    if (documents > 0) {
      firestoreWrites.add(documents, part);
    }
  }

  public void published(String topic, boolean ok) {
    publishes.add(1, part.toBuilder().put(TOPIC, topic).put(OUTCOME, ok ? "ok" : "failed").build());
  }

  /** One Pub/Sub delivery received on a subscription of the given kind, redeliveries included. */
  public void pubsubDelivered(String subscription) {
    deliveries.add(1, part.toBuilder().put(SUBSCRIPTION, subscription).build());
  }

  /** A client publish frame answered {@code accepted} (a repeat of an accepted id counts again). */
  public void upstreamAccepted() {
    upstream.add(1, Attributes.of(OUTCOME, "accepted"));
  }

  /** A client publish frame refused with an error {@code code} (bad_frame, rate_limited, too_large, unavailable). */
  public void upstreamRefused(String code) {
    upstream.add(1, Attributes.of(OUTCOME, "refused", CODE, code));
  }

  /** A connection event ({@code connected}, {@code disconnected}) that Pub/Sub accepted. */
  public void connectionEvent(String type) {
    connectionEvents.add(1, Attributes.of(TYPE, type));
  }

  /** A socket let a routed message wait past the quorum bound and stopped holding its user's deliveries. */
  public void ackQuorumLeft() {
    socketEvents.add(1, Attributes.of(TYPE, "left_ack_quorum"));
  }

  /** A socket reached the age drawn for it and was closed with 1012 to reconnect. */
  public void socketRetiredAtAge() {
    socketEvents.add(1, Attributes.of(TYPE, "retired_at_age"));
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }
}
