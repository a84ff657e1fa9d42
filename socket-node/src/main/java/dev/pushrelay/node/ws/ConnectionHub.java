package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The index of this node's sockets, and the room left for new ones: at most {@code capacity} on the
 * node (Cloud Run's concurrency) and {@code perUserCapacity} per user. A {@link Connection} is tracked
 * from its handshake until its registry entry is gone (the timer looks at every tracked one), and
 * listed for its user from its registration until its close (deliveries go to listed ones).
 */
public final class ConnectionHub {
  private final Map<String, Set<Connection>> byUser = new ConcurrentHashMap<>();
  private final Map<String, Connection> byId = new ConcurrentHashMap<>();
  private final AtomicInteger listed = new AtomicInteger();
  private final Map<String, Integer> reservedByUser = new ConcurrentHashMap<>();
  private final AtomicInteger reserved = new AtomicInteger();
  private final int capacity;
  private final int perUserCapacity;

  /** Why a socket was refused room. */
  public enum Refusal {
    /** The node holds as many sockets as it may: 503, try again (Cloud Run starts another instance). */
    NODE_FULL,
    /** The user holds as many sockets on this node as one user may: 429. */
    USER_FULL
  }

  /** No room for the socket. */
  public static final class CapacityException extends Exception {
    private final Refusal refusal;

    public CapacityException(Refusal refusal) {
      super(refusal == Refusal.NODE_FULL ? "node full" : "too many connections for this user");
      this.refusal = refusal;
    }

    public Refusal refusal() {
      return refusal;
    }
  }

  public ConnectionHub(int capacity) {
    this(capacity, capacity);
  }

  public ConnectionHub(int capacity, int perUserCapacity) {
    this.capacity = capacity;
    this.perUserCapacity = perUserCapacity;
  }

  /**
   * Claims room for a socket of {@code userId} before the upgrade; the {@link Connection} made for it
   * gives it back once, at its close or when it never opened.
   */
  public void reserve(String userId) throws CapacityException {
    boolean[] admitted = {false};
    reservedByUser.compute(userId, (u, n) -> {
      int held = n == null ? 0 : n;
      if (held >= perUserCapacity) {
        return n;
      }
      admitted[0] = true;
      return held + 1;
    });
    if (!admitted[0]) {
      throw new CapacityException(Refusal.USER_FULL);
    }
    if (reserved.incrementAndGet() > capacity) {
      reserved.decrementAndGet();
      releaseUser(userId);
      throw new CapacityException(Refusal.NODE_FULL);
    }
  }

  /** Sockets reserved or open on this node. */
  public int reserved() {
    return reserved.get();
  }

  /** Gives back the room {@link #reserve} claimed. */
  void release(String userId) {
    releaseUser(userId);
    reserved.decrementAndGet();
  }

  private void releaseUser(String userId) {
    reservedByUser.computeIfPresent(userId, (u, n) -> n <= 1 ? null : n - 1);
  }

  void track(Connection c) {
    byId.put(c.connectionId(), c);
  }

  void forget(Connection c) {
    byId.remove(c.connectionId(), c);
  }

  /** Whether the socket is still this node's: from its handshake until its registry entry is gone. */
  public boolean holds(String connectionId) {
    return byId.containsKey(connectionId);
  }

  /** Every tracked socket; weakly consistent, no copy. */
  Iterable<Connection> tracked() {
    return byId.values();
  }

  void list(Connection c) {
    if (byUser.computeIfAbsent(c.userId(), u -> ConcurrentHashMap.newKeySet()).add(c)) {
      listed.incrementAndGet();
    }
  }

  void unlist(Connection c) {
    boolean[] removed = {false};
    byUser.computeIfPresent(c.userId(), (u, set) -> {
      removed[0] = set.remove(c);
      return set.isEmpty() ? null : set;
    });
    if (removed[0]) {
      listed.decrementAndGet();
    }
  }

  /** Sockets registered and open. */
  public int size() {
    return listed.get();
  }

  /** Writes the message to every socket of its user here. */
  public CompletableFuture<DeliveryOutcome> deliver(RelayMessage m) {
    Set<Connection> sockets = byUser.get(m.userId());
    if (sockets == null || sockets.isEmpty()) {
      return CompletableFuture.completedFuture(DeliveryOutcome.NO_SOCKET);
    }
    List<CompletableFuture<DeliveryOutcome>> each = sockets.stream()
        .map(c -> c.deliver(m).exceptionally(e -> DeliveryOutcome.NO_SOCKET))
        .toList();
    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<DeliveryOutcome> outcomes = each.stream().map(CompletableFuture::join).toList();
      if (outcomes.contains(DeliveryOutcome.DELIVERED)) {
        return DeliveryOutcome.DELIVERED;
      }
      return outcomes.contains(DeliveryOutcome.DUPLICATE_SUPPRESSED)
          ? DeliveryOutcome.DUPLICATE_SUPPRESSED : DeliveryOutcome.NO_SOCKET;
    });
  }
}
