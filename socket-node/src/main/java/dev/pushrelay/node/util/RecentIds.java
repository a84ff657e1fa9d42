package dev.pushrelay.node.util;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * The last {@code capacity} ids seen, oldest forgotten first: the message ids written to one socket (to
 * never write one twice), the publish ids one socket had accepted (to never publish one twice). Not
 * thread-safe.
 */
public final class RecentIds {
  private final int capacity;
  /** Made at the first id: most sockets are never written a message, and never publish. */
  private LinkedHashSet<String> ids;

  public RecentIds(int capacity) {
    this.capacity = capacity;
  }

  /** Adds the id; false when it was already there. */
  public boolean add(String id) {
    if (ids == null) {
      ids = new LinkedHashSet<>();
    }
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

  public boolean contains(String id) {
    return ids != null && ids.contains(id);
  }

  /** Removes the id; false when it was not there. */
  public boolean remove(String id) {
    return ids != null && ids.remove(id);
  }
}
