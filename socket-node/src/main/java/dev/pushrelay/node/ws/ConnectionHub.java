package dev.pushrelay.node.ws;

import dev.pushrelay.model.RelayMessage;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The sockets this node holds, by user, and the capacity left for new ones. */
public final class ConnectionHub {
  private final Map<String, Set<LocalConnection>> byUser = new ConcurrentHashMap<>();
  private final Map<String, LocalConnection> byId = new ConcurrentHashMap<>();
  private final AtomicInteger reserved = new AtomicInteger();
  private final int capacity;

  public ConnectionHub(int capacity) {
    this.capacity = capacity;
  }

  /** Claims room for a socket before the upgrade; false when the node is full. */
  public boolean reserve() {
    if (reserved.incrementAndGet() > capacity) {
      reserved.decrementAndGet();
      return false;
    }
    return true;
  }

  public void release() {
    reserved.decrementAndGet();
  }

  public void add(LocalConnection c) {
    byId.put(c.connectionId(), c);
    byUser.computeIfAbsent(c.userId(), u -> ConcurrentHashMap.newKeySet()).add(c);
  }

  /** Removes the socket; true when it was registered here. */
  public boolean remove(LocalConnection c) {
    boolean present = byId.remove(c.connectionId()) != null;
    byUser.computeIfPresent(c.userId(), (u, set) -> {
      set.remove(c);
      return set.isEmpty() ? null : set;
    });
    return present;
  }

  public List<LocalConnection> all() {
    return List.copyOf(byId.values());
  }

  public int size() {
    return byId.size();
  }

  /** Writes the message to every socket of its user here. */
  public CompletableFuture<DeliveryOutcome> deliver(RelayMessage m) {
    Set<LocalConnection> sockets = byUser.get(m.userId());
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
