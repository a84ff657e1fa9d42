// Test doubles: a manual clock for the client's timers, and a fake relay that hands the client
// WebSocket objects it controls from the server side.

/** Lets pending promise callbacks (the async token provider, say) run to completion. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export class FakeTimers {
  now = 0;
  #nextId = 1;
  #queue = new Map();

  setTimeout = (fn, ms) => {
    const id = this.#nextId++;
    this.#queue.set(id, { at: this.now + Math.max(0, ms), fn, delay: ms });
    return id;
  };

  clearTimeout = (id) => {
    this.#queue.delete(id);
  };

  /** Delays of the timers still pending, in the order they were set. */
  pendingDelays() {
    return [...this.#queue.values()].map((t) => t.delay);
  }

  get pendingCount() {
    return this.#queue.size;
  }

  /** Moves the clock forward, running every timer that falls due, in order, with promises settled between. */
  async advance(ms) {
    const target = this.now + ms;
    for (;;) {
      await settle();
      let due = null;
      for (const [id, t] of this.#queue) {
        if (t.at <= target && (due === null || t.at < due.t.at)) due = { id, t };
      }
      if (due === null) break;
      this.#queue.delete(due.id);
      this.now = due.t.at;
      due.t.fn();
    }
    this.now = target;
    await settle();
  }
}

/** A relay seen from the client's side: every `new WebSocket(url)` becomes a socket the test drives. */
export class FakeRelay {
  sockets = [];

  constructor() {
    const relay = this;
    let connections = 0;
    this.WebSocket = class FakeWebSocket {
      static CONNECTING = 0;
      static OPEN = 1;
      static CLOSING = 2;
      static CLOSED = 3;

      constructor(url, protocols = []) {
        this.url = url;
        this.protocols = [].concat(protocols);
        this.readyState = 0;
        this.sent = [];
        this.closedByClient = null;
        this.onopen = this.onmessage = this.onclose = this.onerror = null;
        relay.sockets.push(this);
      }

      // --- the WebSocket API the client uses ---

      send(text) {
        if (this.readyState !== 1) throw new Error('socket not open');
        this.sent.push(JSON.parse(text));
      }

      close(code = 1000, reason = '') {
        this.closedByClient = { code, reason };
        if (this.readyState >= 2) return;
        this.readyState = 2;
        queueMicrotask(() => {
          this.readyState = 3;
          this.onclose?.({ code, reason, wasClean: true });
        });
      }

      // --- the server's side ---

      /** The socket URL without the query, and the token it carried. */
      get endpoint() {
        const u = new URL(this.url);
        return `${u.origin}${u.pathname}`;
      }

      get token() {
        const bearer = this.protocols.find((p) => p.startsWith('bearer.'));
        return bearer ? bearer.slice('bearer.'.length) : null;
      }

      get open() {
        return this.readyState === 1;
      }

      accept() {
        this.readyState = 1;
        this.onopen?.({});
        return this;
      }

      establish(fields = {}) {
        if (this.readyState === 0) this.accept();
        connections += 1;
        return this.push({
          type: 'connection_established',
          connectionId: `conn-${connections}`,
          userId: 'u1',
          nodeId: 'node-1',
          serverTime: new Date(0).toISOString(),
          status: 'ready',
          ...fields,
        });
      }

      push(frame) {
        this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
        return this;
      }

      message(id, event = 'agent_update', data = { n: 1 }, sentAt = '1970-01-01T00:00:00.000000Z') {
        return this.push({ type: 'message', id, event, data, sentAt });
      }

      /** The server closes the socket (or, before accept, the handshake fails: 1006). */
      serverClose(code, reason = '') {
        this.readyState = 3;
        this.onclose?.({ code, reason, wasClean: code !== 1006 });
        return this;
      }

      /** Frames the client sent, of one type. */
      sentOf(type) {
        return this.sent.filter((f) => f.type === type);
      }
    };
  }

  get last() {
    return this.sockets.at(-1);
  }
}
