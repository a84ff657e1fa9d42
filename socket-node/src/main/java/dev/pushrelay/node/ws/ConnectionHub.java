package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
  /** A user's listed sockets, copied on change: one or two per user, read on every delivery. */
  private final Map<String, Connection[]> byUser = new ConcurrentHashMap<>();
  private final Map<String, Connection> byId = new ConcurrentHashMap<>();
  private final AtomicInteger listed = new AtomicInteger();
  private final Map<String, Integer> reservedByUser = new ConcurrentHashMap<>();
  private final AtomicInteger reserved = new AtomicInteger();
  private final int capacity;
  private final int perUserCapacity;
  private final RegistrationLimit registrationLimit;
  private final NodeMemory memory;
  /** The sockets' registry writes in flight: as many as {@link #registrationLimit} allows. */
  private final CallGate registrations;
  /** The catch-up reads in flight: as many as registrations, at most {@link CallGate#MAX_IN_FLIGHT}. */
  private final CallGate catchUps;
  /** When the last socket was shed (the timer's clock), so that the next waits until its queue is given back. */
  private long shedAt = Long.MIN_VALUE / 2;

  /** Why a socket was refused room. */
  public enum Refusal {
    /** The node holds as many sockets as it may: 503, try again (Cloud Run starts another instance). */
    NODE_FULL,
    /** The user holds as many sockets on this node as one user may: 429. */
    USER_FULL,
    /** The sockets here hold as much as the node's memory budget allows ({@link NodeMemory}): 503, try again. */
    OUT_OF_MEMORY
  }

  /** No room for the socket. */
  public static final class CapacityException extends Exception {
    private final Refusal refusal;

    public CapacityException(Refusal refusal) {
      super(switch (refusal) {
        case NODE_FULL -> "node full";
        case USER_FULL -> "too many connections for this user";
        case OUT_OF_MEMORY -> "node at its memory budget";
      });
      this.refusal = refusal;
    }

    public Refusal refusal() {
      return refusal;
    }
  }

  public ConnectionHub(int capacity) {
    this(capacity, capacity);
  }

  /**
   * At most a twentieth of the capacity (and at least 50) registrations in flight, fewer while the registry
   * answers slowly; see {@link #registrations}.
   */
  public ConnectionHub(int capacity, int perUserCapacity) {
    this(capacity, perUserCapacity, NodeMemory.unbounded());
  }

  /** A node's: {@code capacity} sockets, and the per-user share and memory budget of {@code limits}. */
  public static ConnectionHub forNode(int capacity, dev.pushrelay.node.config.SocketLimits limits) {
    return new ConnectionHub(capacity, limits.maxConnectionsPerUser(), new NodeMemory(limits.memoryBudgetBytes()));
  }

  /** The same, with the node's memory budget. */
  public ConnectionHub(int capacity, int perUserCapacity, NodeMemory memory) {
    this(capacity, perUserCapacity, Math.max(50, capacity / 20), memory);
  }

  public ConnectionHub(int capacity, int perUserCapacity, int registrationLimit) {
    this(capacity, perUserCapacity, registrationLimit, NodeMemory.unbounded());
  }

  /** {@code memory}: the budget over what the sockets' queues hold, see {@link #shedIfOver}. */
  public ConnectionHub(int capacity, int perUserCapacity, int registrationLimit, NodeMemory memory) {
    this.capacity = capacity;
    this.perUserCapacity = perUserCapacity;
    this.registrationLimit = new RegistrationLimit(registrationLimit);
    this.registrations = new CallGate(this.registrationLimit::current);
    this.catchUps = new CallGate(() -> Math.min(CallGate.MAX_IN_FLIGHT, this.registrationLimit.current()));
    this.memory = memory;
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
    Refusal refusal = null;
    if (reserved.incrementAndGet() > capacity) {
      refusal = Refusal.NODE_FULL;
    } else if (memory.over()) {
      refusal = Refusal.OUT_OF_MEMORY;
    }
    if (refusal != null) {
      reserved.decrementAndGet();
      releaseUser(userId);
      throw new CapacityException(refusal);
    }
  }

  /** Sockets of {@code userId} reserved or open on this node, one being opened included. */
  public int heldBy(String userId) {
    return reservedByUser.getOrDefault(userId, 0);
  }

  /**
   * A registration answered after {@code tookNanos} ({@code failed}: it failed or timed out): how many
   * may be in flight follows it ({@link RegistrationLimit}).
   */
  void registrationAnswered(long tookNanos, boolean failed, long nowNanos) {
    registrationLimit.answered(tookNanos, failed, nowNanos);
  }

  /** How many registrations may be in flight now. */
  int registrationLimit() {
    return registrationLimit.current();
  }

  /**
   * The registry writes of sockets in flight on this node: a socket opened (answered 101) waits here for its
   * turn, so that a crowd that connects together (every client of a drained node at once: the JS client
   * reconnects at once on 1012) registers at the rate the registry answers rather than all at once. Measured
   * on the emulators with 1,000 clients at the same moment: with no bound, 760 registrations passed their
   * 5 s deadline; with 200 at once, both nodes lost their leases (the renewals queued behind the crowd's
   * writes); refused with 503 instead of waiting here, the clients' backoff kept them away for up to 50 s.
   */
  CallGate registrations() {
    return registrations;
  }

  /** The catch-up reads in flight on this node. */
  CallGate catchUps() {
    return catchUps;
  }

  /** The budget over what the sockets' queues hold. */
  public NodeMemory memory() {
    return memory;
  }

  /**
   * Past the memory budget, closes the open socket that holds the most unwritten with 1013, as a slow one
   * (what it did not take goes back to be routed again); called once a tick by the node's timer. A socket
   * that reads nothing gives its queue back only when it is disconnected, {@code grace} after its close, so
   * no other is shed before then. The one it closed, if any.
   */
  Optional<Connection> shedIfOver(long nowNanos, java.time.Duration grace) {
    if (!memory.over() || nowNanos - shedAt < grace.toNanos()) {
      return Optional.empty();
    }
    Connection largest = null;
    long most = 0;
    for (Connection c : byId.values()) {
      SocketOutput out = c.output();
      long chars = out == null || !c.isOpen() ? 0 : out.unwrittenChars();
      if (chars > most) {
        most = chars;
        largest = c;
      }
    }
    if (largest != null) {
      shedAt = nowNanos;
      largest.shed();
    }
    return Optional.ofNullable(largest);
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
    boolean[] added = {false};
    byUser.compute(c.userId(), (u, held) -> {
      if (held == null) {
        added[0] = true;
        return new Connection[] {c};
      }
      if (Arrays.asList(held).contains(c)) {
        return held;
      }
      added[0] = true;
      Connection[] more = Arrays.copyOf(held, held.length + 1);
      more[held.length] = c;
      return more;
    });
    if (added[0]) {
      listed.incrementAndGet();
    }
  }

  void unlist(Connection c) {
    boolean[] removed = {false};
    byUser.computeIfPresent(c.userId(), (u, held) -> {
      Connection[] fewer = Arrays.stream(held).filter(h -> h != c).toArray(Connection[]::new);
      removed[0] = fewer.length < held.length;
      return fewer.length == 0 ? null : fewer;
    });
    if (removed[0]) {
      listed.decrementAndGet();
    }
  }

  /**
   * Closes every socket of {@code userId} this node tracks (open, registering, or handshaken and not yet
   * open) with {@code close}; what each held goes back to whoever handed it over. How many it closed.
   */
  public int closeUser(String userId, SocketClose close) {
    int closed = 0;
    for (Connection c : byId.values()) {
      if (c.userId().equals(userId)) {
        c.close(close);
        closed++;
      }
    }
    return closed;
  }

  /**
   * Closes, with {@code close}, the sockets of {@code userId} whose token was issued before {@code before}:
   * a revocation seen after they connected. Returns how many.
   */
  public int closeUserIssuedBefore(String userId, java.time.Instant before, SocketClose close) {
    int closed = 0;
    for (Connection c : byId.values()) {
      // a token that says nothing of when it was issued is covered
      if (c.userId().equals(userId) && c.token().issuedAt().map(iat -> iat.isBefore(before)).orElse(true)) {
        c.close(close);
        closed++;
      }
    }
    return closed;
  }

  /** Sockets registered and open. */
  public int size() {
    return listed.get();
  }

  /**
   * Writes the message to every socket of its user here; settled once each socket settled its copy (see
   * {@link Connection#deliver}). {@code handBack} routes a copy again that a socket settled early and
   * then lost unacked.
   */
  public CompletableFuture<SocketOutcome> deliver(RelayMessage m, Runnable handBack) {
    Connection[] sockets = byUser.get(m.userId());
    if (sockets == null) {
      return CompletableFuture.completedFuture(SocketOutcome.NO_SOCKET);
    }
    if (sockets.length == 1) {
      return sockets[0].deliver(m, handBack).exceptionally(e -> SocketOutcome.NO_SOCKET);
    }
    List<CompletableFuture<SocketOutcome>> each = Arrays.stream(sockets)
        .map(c -> c.deliver(m, handBack).exceptionally(e -> SocketOutcome.NO_SOCKET))
        .toList();
    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<SocketOutcome> outcomes = each.stream().map(CompletableFuture::join).toList();
      if (outcomes.contains(SocketOutcome.DELIVERED)) {
        return SocketOutcome.DELIVERED;
      }
      return outcomes.contains(SocketOutcome.DUPLICATE_SUPPRESSED)
          ? SocketOutcome.DUPLICATE_SUPPRESSED : SocketOutcome.NO_SOCKET;
    });
  }
}
