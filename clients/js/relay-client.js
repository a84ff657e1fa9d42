// push relay client: one WebSocket to a relay socket node, kept alive across node restarts,
// drains and token expiry. No dependencies; runs in browsers and in Node (with a WebSocket
// implementation: global on Node 22+, `--experimental-websocket` or an injected one on Node 20).

/** Close codes the socket node uses, and what the client does about each. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  AUTH_FAILED: 1008, // ask the token provider again; stop when it has nothing new
  TOO_BIG: 1009,
  INTERNAL: 1011,
  DRAINING: 1012, // reconnect at once, to the next node
  OVERLOADED: 1013, // back off, to the next node
  DISCONNECTED: 4001, // the backend disconnected the user: stop, unless reconnectOnDisconnect
});

/** Connection states, in the order a healthy client sees them. */
export const State = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  READY: 'ready',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
  AUTH_FAILED: 'auth_failed',
  DISCONNECTED: 'disconnected',
});

export const DEFAULTS = Object.freeze({
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  dedupeSize: 1000,
  outboxSize: 1000,
  renewRetryMs: 5_000,
});

/** A renewal is sent at 80 % of the token's remaining life, or this long before it ends, whichever is earlier. */
const RENEW_MARGIN_MS = 30_000;

/** A publish id: what the relay takes (1-128 visible ASCII characters). */
const PUBLISH_ID = /^[\x21-\x7E]{1,128}$/;
/** The relay's largest client frame; a larger publish is refused here, before it is ever sent. */
const MAX_FRAME_BYTES = 16 * 1024;
/**
 * Publishes sent per second at most, in bursts of this many: under the relay's inbound limit (10 frames a
 * second after a burst of 20), so that an outbox sent again on a new socket is never refused for its size.
 */
const PUBLISH_BURST = 8;
const PUBLISH_REFILL_MS = 1000;

function newPublishId() {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  return `p-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** The error a publish promise rejects with: `code` is the relay's (bad_frame, rate_limited, too_large, unavailable) or the client's (closed, auth_failed, outbox_full). */
export class PublishError extends Error {
  constructor(code, message, id) {
    super(message || code);
    this.name = 'PublishError';
    this.code = code;
    this.id = id;
  }
}

const OPEN = 1; // WebSocket.OPEN, spelled out so fakes need not define it
const ALL_EVENTS = '*';
const CLIENT_CLOSE = 4000; // our own close when the server stops answering (4000-4999: application use)

/**
 * Full-jitter exponential backoff: a delay drawn uniformly from [0, min(cap, base * 2^attempt)).
 * @param {number} attempt failures since the last ready connection, from 0
 */
export function backoffDelay(attempt, { baseMs = DEFAULTS.backoffBaseMs, capMs = DEFAULTS.backoffCapMs, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/** The same window as {@link backoffDelay}, but never shorter than the base: for 1013 (overloaded). */
export function overloadDelay(attempt, { baseMs = DEFAULTS.backoffBaseMs, capMs = DEFAULTS.backoffCapMs, random = Math.random } = {}) {
  const ceiling = Math.max(baseMs, Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0) + 1, 30)));
  return Math.floor(baseMs + random() * (ceiling - baseMs));
}

/**
 * How long after `nowMs` the client renews a token that ends at `expiresAtMs`: at 80 % of the remaining
 * life or 30 s before the end, whichever is earlier; 0 when that is past.
 */
export function renewalDelay(expiresAtMs, nowMs) {
  const remaining = expiresAtMs - nowMs;
  if (!(remaining > 0)) return 0;
  return Math.max(0, Math.floor(Math.min(remaining * 0.8, remaining - RENEW_MARGIN_MS)));
}

/** The `exp` of a JWT in ms since the epoch; null when it has none or is not a JWT (then the client does not renew it). */
function tokenExpiry(token) {
  try {
    const payload = token.split('.')[1];
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const exp = JSON.parse(globalThis.atob(base64)).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** A promise with its settling functions; rejections nobody awaits are not reported as unhandled. */
function deferred() {
  const d = { settled: false };
  d.promise = new Promise((resolve, reject) => {
    d.resolve = (v) => { d.settled = true; resolve(v); };
    d.reject = (e) => { d.settled = true; reject(e); };
  });
  d.promise.catch(() => {});
  return d;
}

/** Remembers the last `size` message ids, oldest forgotten first. */
class RecentIds {
  #size;
  #ids = new Set();

  constructor(size) {
    this.#size = size;
  }

  /** @returns {boolean} true when the id is new */
  add(id) {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#size) this.#ids.delete(this.#ids.values().next().value);
    return true;
  }

  get size() {
    return this.#ids.size;
  }
}

function positive(name, value, fallback, { allowZero = false } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds`);
  }
  return value;
}

function socketUrl(url) {
  const base = globalThis.location?.href;
  const u = base ? new URL(url, base) : new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${url}`);
  return u;
}

function frameText(data) {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return String(data);
}

/**
 * A client for one user's relay socket.
 *
 * new RelayClient({ url: 'wss://relay.example.com/ws', tokenProvider: async () => fetchToken() })
 */
export class RelayClient {
  #urls;
  #urlIndex = 0;
  #tokenProvider;
  #WebSocket;
  #opts;
  #random;
  #timers;

  #state = State.IDLE;
  #socket = null;
  #token = null;
  #connection = null;
  #attempt = 0; // failures since the last ready connection
  #run = 0; // bumped by connect() and close(): stale callbacks of an earlier run do nothing
  #pending = { retry: null, connect: null, ping: null, pong: null, publish: null, renew: null }; // timer ids
  #now;
  #renewing = null; // the token sent in an auth frame and not answered yet
  #caughtUp = deferred(); // settled by the current (or next) connection's caught_up frame
  #caughtUpHandlers = new Set();

  #recent;
  #handlers = new Map();
  #stateHandlers = new Set();
  #errorHandlers = new Set();
  #stats = { received: 0, duplicates: 0, late: 0, connects: 0, renewals: 0 };
  // publishes not answered yet, in the order they were made: sent on every ready socket until answered
  #outbox = new Map();
  #outboxSize;
  #publishCredit = PUBLISH_BURST; // publishes this socket may still send before the next refill
  // the newest accept stamp handed out per priority, across reconnects: high messages may overtake
  // normal ones (that is what high means), so order, and lateness, is judged within a priority
  #newestStamp = { normal: '', high: '' };

  /**
   * @param {object} options see relay-client.d.ts
   */
  constructor(options = {}) {
    const { url, urls, tokenProvider, WebSocketImpl } = options;
    const list = urls ?? (url === undefined ? [] : [url]);
    if (!Array.isArray(list) || list.length === 0) throw new TypeError('give url or a non-empty urls list');
    this.#urls = list.map((u) => socketUrl(u).toString());
    if (typeof tokenProvider !== 'function') throw new TypeError('tokenProvider must be a function returning a token (or a promise of one)');
    this.#tokenProvider = tokenProvider;
    this.#WebSocket = WebSocketImpl ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('no WebSocket here: pass WebSocketImpl (on Node 20, e.g. the ws package, or run with --experimental-websocket)');
    }
    this.#opts = {
      backoffBaseMs: positive('backoffBaseMs', options.backoffBaseMs, DEFAULTS.backoffBaseMs),
      backoffCapMs: positive('backoffCapMs', options.backoffCapMs, DEFAULTS.backoffCapMs),
      pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, DEFAULTS.pingIntervalMs, { allowZero: true }),
      pongTimeoutMs: positive('pongTimeoutMs', options.pongTimeoutMs, DEFAULTS.pongTimeoutMs),
      connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULTS.connectTimeoutMs),
      renewRetryMs: positive('renewRetryMs', options.renewRetryMs, DEFAULTS.renewRetryMs),
      autoRenew: options.autoRenew ?? true,
      reconnectOnDisconnect: options.reconnectOnDisconnect ?? false,
    };
    if (this.#opts.backoffCapMs < this.#opts.backoffBaseMs) throw new TypeError('backoffCapMs must not be below backoffBaseMs');
    const dedupeSize = options.dedupeSize ?? DEFAULTS.dedupeSize;
    if (!Number.isInteger(dedupeSize) || dedupeSize < 1) throw new TypeError('dedupeSize must be a positive integer');
    this.#recent = new RecentIds(dedupeSize);
    const outboxSize = options.outboxSize ?? DEFAULTS.outboxSize;
    if (!Number.isInteger(outboxSize) || outboxSize < 1) throw new TypeError('outboxSize must be a positive integer');
    this.#outboxSize = outboxSize;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => Date.now());
    const timers = options.timers ?? {};
    this.#timers = {
      setTimeout: timers.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: timers.clearTimeout ?? ((id) => globalThis.clearTimeout(id)),
    };
  }

  /** The current state: idle, connecting, ready, reconnecting, closed or auth_failed. */
  get state() {
    return this.#state;
  }

  /** The last connection_established frame while ready, else null. */
  get connection() {
    return this.#state === State.READY ? this.#connection : null;
  }

  /** The socket URL the client uses now or will use next (without the token). */
  get url() {
    return this.#urls[this.#urlIndex];
  }

  /**
   * Resolves with `{ count, connectionId }` once the current connection's catch-up is written: `count`
   * messages parked while the user was away came before it. A new promise for each connection (after a
   * loss, the next one's); rejects when the client is closed, disconnected or auth_failed first.
   */
  get caughtUp() {
    return this.#caughtUp.promise;
  }

  /** Counters: messages received, repeats dropped, messages that came after a newer one, connections established, tokens renewed on the socket. */
  get stats() {
    return { ...this.#stats, rememberedIds: this.#recent.size, outbox: this.#outbox.size };
  }

  /**
   * Sends a message to the backend (the relay publishes it to its upstream topic). Resolves with the id
   * once the relay answers `accepted`; rejects with a PublishError carrying the relay's error code. Until it
   * is answered it waits in the outbox, across reconnects, and is sent again with the same id on every new
   * socket. Publishing an id that is still waiting returns the same promise.
   * @param {string} event the send API's event rules
   * @param {*} data any JSON value
   * @param {{ id?: string }} [options] your own id (1-128 visible ASCII characters); else a random one
   */
  publish(event, data = null, { id } = {}) {
    if (typeof event !== 'string' || event.length === 0) throw new TypeError('event must be a non-empty string');
    const publishId = id ?? newPublishId();
    if (typeof publishId !== 'string' || !PUBLISH_ID.test(publishId)) {
      throw new TypeError('id must be 1-128 visible ASCII characters');
    }
    const waiting = this.#outbox.get(publishId);
    if (waiting) return waiting.promise;
    if (this.#state === State.CLOSED || this.#state === State.AUTH_FAILED || this.#state === State.DISCONNECTED) {
      return Promise.reject(new PublishError(this.#state, `relay client ${this.#state}`, publishId));
    }
    if (this.#outbox.size >= this.#outboxSize) {
      return Promise.reject(new PublishError('outbox_full', `${this.#outboxSize} publishes are already waiting`, publishId));
    }
    let text;
    try {
      text = JSON.stringify({ type: 'publish', id: publishId, event, data });
    } catch (cause) {
      return Promise.reject(new PublishError('bad_frame', `data is not JSON: ${cause?.message ?? cause}`, publishId));
    }
    if (new TextEncoder().encode(text).length > MAX_FRAME_BYTES) {
      return Promise.reject(new PublishError('too_large', `the frame is over ${MAX_FRAME_BYTES} bytes`, publishId));
    }
    const entry = { id: publishId, text, sentOn: null };
    entry.promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.#outbox.set(publishId, entry);
    this.#sendPublishes();
    return entry.promise;
  }

  /** Starts connecting; does nothing while already connecting, ready or reconnecting. */
  connect() {
    if (this.#state === State.CONNECTING || this.#state === State.READY || this.#state === State.RECONNECTING) return this;
    this.#run += 1;
    this.#attempt = 0;
    if (this.#caughtUp.settled) this.#caughtUp = deferred();
    this.#setState(State.CONNECTING, { url: this.url });
    this.#open(this.#run, null);
    return this;
  }

  /** Closes the socket and stops reconnecting; connect() starts again. */
  close(code = CloseCode.NORMAL, reason = 'client closed') {
    if (this.#state === State.CLOSED || this.#state === State.IDLE) return;
    this.#run += 1;
    this.#clearTimers();
    this.#dropSocket(code, reason);
    this.#setState(State.CLOSED, { code, reason });
    this.#rejectOutbox('closed', 'the client was closed before the relay answered');
    this.#rejectCaughtUp(State.CLOSED);
  }

  /**
   * Handlers for message frames: on('agent_update', fn) for one event name, on('*', fn) for all.
   * Each gets the message { id, event, data, sentAt, priority, late }, once per id, in the order the relay accepted
   * them within a priority (high ones may overtake normal ones; late: true marks one that came after a newer
   * message of its priority, which only a fault causes). Returns a function that removes it.
   */
  on(event, handler) {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
  }

  /** State changes: fn({ state, previous, ...details }). Returns a function that removes it. */
  onState(handler) {
    this.#stateHandlers.add(handler);
    return () => this.#stateHandlers.delete(handler);
  }

  /** The end of each connection's catch-up: fn({ count, connectionId }). Returns a function that removes it. */
  onCaughtUp(handler) {
    this.#caughtUpHandlers.add(handler);
    return () => this.#caughtUpHandlers.delete(handler);
  }

  /** Error frames from the server and local trouble: fn({ code, message, cause? }). */
  onError(handler) {
    this.#errorHandlers.add(handler);
    return () => this.#errorHandlers.delete(handler);
  }

  /**
   * Resolves with the connection once ready; rejects when the client is or becomes closed,
   * disconnected or auth_failed (so call it after connect()).
   */
  waitForReady() {
    if (this.#state === State.READY) return Promise.resolve(this.#connection);
    if (this.#state === State.CLOSED || this.#state === State.AUTH_FAILED || this.#state === State.DISCONNECTED) {
      return Promise.reject(Object.assign(new Error(`relay client ${this.#state}`), { state: this.#state }));
    }
    return new Promise((resolve, reject) => {
      const stop = this.onState((change) => {
        if (change.state === State.READY) {
          stop();
          resolve(change.connection);
        } else if (change.state === State.CLOSED || change.state === State.AUTH_FAILED || change.state === State.DISCONNECTED) {
          stop();
          reject(Object.assign(new Error(`relay client ${change.state}`), { state: change.state, code: change.code }));
        }
      });
    });
  }

  // ---- connecting ----

  async #open(run, rejectedToken) {
    let token;
    try {
      token = await this.#tokenProvider({ url: this.url, attempt: this.#attempt, rejectedToken });
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('tokenProvider gave no token');
    } catch (cause) {
      if (run !== this.#run) return;
      this.#emitError({ code: 'token_provider_failed', message: String(cause?.message ?? cause), cause });
      if (rejectedToken !== null) return this.#authFailed('token provider failed after the token was rejected');
      return this.#retry({ reason: 'token_provider_failed' });
    }
    if (run !== this.#run) return;
    if (rejectedToken !== null && token === rejectedToken) {
      return this.#authFailed('token provider gave the rejected token again');
    }
    this.#token = token;
    // The token travels as a `bearer.<token>` subprotocol, not in the URL: URLs end up in access logs.
    let socket;
    try {
      socket = new this.#WebSocket(this.url, [`bearer.${token}`]);
    } catch (cause) {
      this.#emitError({ code: 'socket_failed', message: String(cause?.message ?? cause), cause });
      return this.#retry({ reason: 'socket_failed', rotate: true });
    }
    this.#socket = socket;
    this.#arm('connect', this.#opts.connectTimeoutMs, () => {
      if (this.#socket === socket) this.#lost(socket, { code: CLIENT_CLOSE, reason: 'connect_timeout' });
    });
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#frame(socket, frameText(event.data));
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#lost(socket, { code: event.code ?? CloseCode.ABNORMAL, reason: event.reason ?? '' });
    };
    socket.onerror = () => {
      // a close event follows every error; that is where the client decides
    };
  }

  #frame(socket, text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (cause) {
      this.#emitError({ code: 'bad_frame', message: 'a frame that is not JSON', cause });
      return;
    }
    // Any frame shows the server is alive.
    this.#disarm('pong');
    switch (frame?.type) {
      case 'connection_established':
        return this.#established(frame);
      case 'message':
        return this.#message(socket, frame);
      case 'accepted':
        return this.#answered(frame.id, null);
      case 'caught_up':
        return this.#caughtUpFrame(frame);
      case 'auth_ok':
        return this.#renewed(frame);
      case 'error':
        if (frame.code === 'auth_failed' && this.#renewing !== null) {
          return this.#renewalRefused(String(frame.message ?? ''));
        }
        if (typeof frame.id === 'string' && this.#outbox.has(frame.id)) {
          return this.#answered(frame.id, new PublishError(String(frame.code ?? 'error'), String(frame.message ?? ''), frame.id));
        }
        return this.#emitError({ code: String(frame.code ?? 'error'), message: String(frame.message ?? '') });
      default:
        // pong, and frame types of later servers: nothing to do
        return undefined;
    }
  }

  #established(frame) {
    this.#disarm('connect');
    this.#attempt = 0;
    this.#connection = {
      connectionId: frame.connectionId,
      userId: frame.userId,
      nodeId: frame.nodeId,
      serverTime: frame.serverTime,
    };
    this.#stats.connects += 1;
    this.#setState(State.READY, { url: this.url, connection: this.#connection });
    this.#schedulePing();
    this.#scheduleRenewal();
    // what no earlier socket got an answer for goes again, with the same ids, in the order it was made
    this.#publishCredit = PUBLISH_BURST;
    this.#sendPublishes();
  }

  /** Sends the outbox's entries this socket has not had yet, in order, at most PUBLISH_BURST a second. */
  #sendPublishes() {
    const socket = this.#socket;
    if (!socket || this.#state !== State.READY) return;
    for (const entry of this.#outbox.values()) {
      if (entry.sentOn === socket) continue;
      if (this.#publishCredit === 0) break;
      this.#publishCredit -= 1;
      entry.sentOn = socket;
      this.#sendText(socket, entry.text);
    }
    if (this.#publishCredit < PUBLISH_BURST && this.#pending.publish === null) {
      this.#arm('publish', PUBLISH_REFILL_MS, () => {
        this.#publishCredit = PUBLISH_BURST;
        this.#sendPublishes();
      });
    }
  }

  #answered(id, error) {
    const entry = this.#outbox.get(id);
    if (!entry) return; // a repeat's second answer, or an id this client forgot
    this.#outbox.delete(id);
    if (error) entry.reject(error);
    else entry.resolve(id);
  }

  #rejectOutbox(code, message) {
    const entries = [...this.#outbox.values()];
    this.#outbox.clear();
    for (const entry of entries) entry.reject(new PublishError(code, message, entry.id));
  }

  #message(socket, frame) {
    if (typeof frame.id !== 'string' || typeof frame.event !== 'string') {
      this.#emitError({ code: 'bad_frame', message: 'a message frame without id or event' });
      return;
    }
    const fresh = this.#recent.add(frame.id);
    if (fresh) {
      this.#stats.received += 1;
      // sentAt is the relay's accept stamp, six fraction digits in UTC: stamps compare as strings. The
      // node writes a user's messages in accept order; one older than a message already handed out
      // came late (a retry after a fault) and is handed out anyway, marked, never dropped.
      const stamp = typeof frame.sentAt === 'string' ? frame.sentAt : '';
      const priority = frame.priority === 'high' ? 'high' : 'normal';
      const newest = this.#newestStamp[priority];
      const late = stamp !== '' && newest !== '' && stamp < newest;
      if (late) this.#stats.late += 1;
      else if (stamp > newest) this.#newestStamp[priority] = stamp;
      const message = Object.freeze({ id: frame.id, event: frame.event, data: frame.data, sentAt: frame.sentAt, priority, late });
      for (const handler of [...(this.#handlers.get(frame.event) ?? []), ...(this.#handlers.get(ALL_EVENTS) ?? [])]) {
        try {
          handler(message);
        } catch (cause) {
          this.#emitError({ code: 'handler_failed', message: `a handler for ${frame.event} threw: ${cause?.message ?? cause}`, cause });
        }
      }
    } else {
      this.#stats.duplicates += 1;
    }
    // Acknowledge repeats too: the server learns the id arrived either way.
    this.#send(socket, { type: 'ack', id: frame.id });
  }

  // ---- caught up ----

  #caughtUpFrame(frame) {
    const caughtUp = Object.freeze({ count: Number(frame.count ?? 0), connectionId: this.#connection?.connectionId ?? null });
    if (this.#caughtUp.settled) this.#caughtUp = deferred();
    this.#caughtUp.resolve(caughtUp);
    for (const handler of [...this.#caughtUpHandlers]) {
      try {
        handler(caughtUp);
      } catch (cause) {
        this.#emitError({ code: 'handler_failed', message: `a caught_up handler threw: ${cause?.message ?? cause}`, cause });
      }
    }
  }

  #rejectCaughtUp(state) {
    if (!this.#caughtUp.settled) this.#caughtUp.reject(Object.assign(new Error(`relay client ${state}`), { state }));
  }

  // ---- renewing the token on the open socket ----

  /** Arms the renewal of the socket's token, at renewalDelay of its exp; a token without exp is never renewed. */
  #scheduleRenewal(afterMs = null) {
    if (!this.#opts.autoRenew) return;
    const expiresAt = tokenExpiry(this.#token ?? '');
    if (expiresAt === null) return;
    const now = this.#now();
    if (afterMs !== null && now + afterMs >= expiresAt) return; // too late: the node closes with 1008, and the reconnect asks anew
    const delayMs = afterMs ?? renewalDelay(expiresAt, now);
    const socket = this.#socket;
    this.#arm('renew', delayMs, () => this.#renew(socket));
  }

  async #renew(socket) {
    if (this.#socket !== socket || this.#state !== State.READY) return;
    let token;
    try {
      token = await this.#tokenProvider({ url: this.url, attempt: 0, rejectedToken: null, renewal: true });
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('tokenProvider gave no token');
    } catch (cause) {
      if (this.#socket !== socket) return;
      this.#emitError({ code: 'token_provider_failed', message: String(cause?.message ?? cause), cause });
      return this.#scheduleRenewal(this.#opts.renewRetryMs);
    }
    if (this.#socket !== socket || this.#state !== State.READY) return;
    if (token === this.#token) return this.#scheduleRenewal(this.#opts.renewRetryMs); // nothing newer yet
    this.#renewing = token;
    this.#send(socket, { type: 'auth', token });
    // no answer (the frame dropped by the node's rate limit, or lost with a stalled socket): ask again later
    this.#arm('renew', this.#opts.renewRetryMs, () => {
      if (this.#renewing !== token) return;
      this.#renewing = null;
      this.#renew(socket);
    });
  }

  #renewed(frame) {
    if (this.#renewing === null) return;
    this.#token = this.#renewing;
    this.#renewing = null;
    this.#stats.renewals += 1;
    this.#scheduleRenewal();
  }

  #renewalRefused(message) {
    this.#renewing = null;
    this.#emitError({ code: 'auth_failed', message: `token renewal refused: ${message}` });
    this.#scheduleRenewal(this.#opts.renewRetryMs);
  }

  // ---- keepalive ----

  #schedulePing() {
    if (this.#opts.pingIntervalMs === 0) return;
    this.#arm('ping', this.#opts.pingIntervalMs, () => {
      const socket = this.#socket;
      if (!socket || this.#state !== State.READY) return;
      this.#send(socket, { type: 'ping' });
      if (this.#pending.pong === null) {
        this.#arm('pong', this.#opts.pongTimeoutMs, () => {
          if (this.#socket === socket) this.#lost(socket, { code: CLIENT_CLOSE, reason: 'pong_timeout' });
        });
      }
      this.#schedulePing();
    });
  }

  // ---- losing the socket ----

  #lost(socket, { code, reason }) {
    const wasReady = this.#state === State.READY;
    this.#clearTimers();
    this.#socket = null;
    this.#renewing = null;
    if (this.#caughtUp.settled) this.#caughtUp = deferred(); // the next connection's
    if (code === CLIENT_CLOSE) {
      // We gave up on it; do not wait for a close handshake with a server that does not answer.
      socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(CLIENT_CLOSE, reason);
      } catch {
        // already closing
      }
    }
    if (code === CloseCode.AUTH_FAILED) {
      return this.#retry({ code, reason, rejectedToken: this.#token });
    }
    if (code === CloseCode.DISCONNECTED && !this.#opts.reconnectOnDisconnect) {
      return this.#disconnected(reason);
    }
    if (code === CloseCode.DRAINING) {
      // The node is going away on purpose: straight to the next one, unless that already failed.
      return this.#retry({ code, reason, rotate: true, immediate: wasReady });
    }
    if (code === CloseCode.OVERLOADED) {
      return this.#retry({ code, reason, rotate: true, overloaded: true });
    }
    const nodeTrouble = !wasReady || code === CloseCode.GOING_AWAY || code === CloseCode.INTERNAL;
    return this.#retry({ code, reason, rotate: nodeTrouble });
  }

  #retry({ code, reason, rotate = false, immediate = false, overloaded = false, rejectedToken = null }) {
    if (rotate && this.#urls.length > 1) this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
    const backoff = { baseMs: this.#opts.backoffBaseMs, capMs: this.#opts.backoffCapMs, random: this.#random };
    let delayMs;
    if (immediate) delayMs = 0;
    else if (overloaded) delayMs = overloadDelay(this.#attempt, backoff);
    else delayMs = backoffDelay(this.#attempt, backoff);
    const attempt = this.#attempt;
    this.#attempt += 1;
    this.#setState(State.RECONNECTING, { code, reason, attempt, delayMs, url: this.url });
    const run = this.#run;
    this.#arm('retry', delayMs, () => {
      if (run === this.#run) this.#open(run, rejectedToken);
    });
  }

  #authFailed(reason) {
    this.#run += 1;
    this.#clearTimers();
    this.#dropSocket(CloseCode.NORMAL, 'auth failed');
    this.#setState(State.AUTH_FAILED, { code: CloseCode.AUTH_FAILED, reason });
    this.#rejectOutbox('auth_failed', 'the relay refused every token before it answered');
    this.#rejectCaughtUp(State.AUTH_FAILED);
  }

  /** The backend disconnected the user (4001): no reconnect until connect() is called again. */
  #disconnected(reason) {
    this.#run += 1;
    this.#clearTimers();
    this.#setState(State.DISCONNECTED, { code: CloseCode.DISCONNECTED, reason });
    this.#rejectOutbox('disconnected', 'the user was disconnected by the server before the relay answered');
    this.#rejectCaughtUp(State.DISCONNECTED);
  }

  // ---- plumbing ----

  #send(socket, frame) {
    this.#sendText(socket, JSON.stringify(frame));
  }

  #sendText(socket, text) {
    if (socket.readyState !== OPEN) return;
    try {
      socket.send(text);
    } catch (cause) {
      this.#emitError({ code: 'send_failed', message: String(cause?.message ?? cause), cause });
    }
  }

  #dropSocket(code, reason) {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  #arm(name, ms, fn) {
    this.#disarm(name);
    this.#pending[name] = this.#timers.setTimeout(() => {
      this.#pending[name] = null;
      fn();
    }, ms);
  }

  #disarm(name) {
    const id = this.#pending[name];
    if (id === null) return;
    this.#pending[name] = null;
    this.#timers.clearTimeout(id);
  }

  #clearTimers() {
    for (const name of Object.keys(this.#pending)) this.#disarm(name);
  }

  #setState(state, details = {}) {
    const previous = this.#state;
    this.#state = state;
    const change = Object.freeze({ state, previous, ...details });
    for (const handler of [...this.#stateHandlers]) {
      try {
        handler(change);
      } catch (cause) {
        this.#emitError({ code: 'handler_failed', message: `a state handler threw: ${cause?.message ?? cause}`, cause });
      }
    }
  }

  #emitError(error) {
    for (const handler of [...this.#errorHandlers]) {
      try {
        handler(error);
      } catch {
        // an error handler that throws has nobody left to tell
      }
    }
  }
}
