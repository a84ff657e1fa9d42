package dev.pushrelay.node.ws;

import java.util.LinkedHashSet;
import java.util.Iterator;

/** The last {@code capacity} message ids written to one socket, to never write one twice. Not thread-safe. */
final class RecentIds {
  private final int capacity;
  private final LinkedHashSet<String> ids = new LinkedHashSet<>();

  RecentIds(int capacity) {
    this.capacity = capacity;
  }

  /** Adds the id; false when it was already there. */
  boolean add(String id) {
    if (!ids.add(id)) {
      return false;
    }
    if (ids.size() > capacity) {
      Iterator<String> oldest = ids.iterator();
      oldest.next();
      oldest.remove();
    }
    return true;
  }

  /** Removes the id; false when it was not there. */
  boolean remove(String id) {
    return ids.remove(id);
  }
}
