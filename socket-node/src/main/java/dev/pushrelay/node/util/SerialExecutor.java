package dev.pushrelay.node.util;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the tasks given to it one at a time, in the order given, on the thread that gave them: a task
 * given while none runs runs at once, before {@link #execute} returns; one given while another runs
 * (on any thread, that task included) waits in line, and the thread that is running drains the line
 * before it returns. One socket's events thus never run beside each other and never need a lock, and
 * an uncontended event costs no thread hop. A task must not block. A task that throws is logged and
 * the line goes on. Holds no thread and, until two tasks meet, no queue.
 */
public final class SerialExecutor implements Executor {
  private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);

  // guarded by this
  private ArrayDeque<Runnable> waiting;
  private boolean running;

  @Override
  public void execute(Runnable task) {
    Runnable next;
    synchronized (this) {
      if (running) {
        if (waiting == null) {
          waiting = new ArrayDeque<>(4);
        }
        waiting.add(task);
        return;
      }
      running = true;
      if (waiting != null && !waiting.isEmpty()) {
        waiting.add(task); // left by a run that ended in an Error: they go first, in order
        next = waiting.poll();
      } else {
        next = task;
      }
    }
    try {
      while (next != null) {
        try {
          next.run();
        } catch (RuntimeException e) {
          LOG.warn("a serial task failed, the next ones run: {}", e.toString(), e);
        }
        synchronized (this) {
          next = waiting == null ? null : waiting.poll();
          if (next == null) {
            running = false;
            waiting = null;
          }
        }
      }
    } catch (Error e) {
      synchronized (this) {
        running = false;
      }
      throw e;
    }
  }
}
