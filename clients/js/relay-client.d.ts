/** Close codes the socket node uses. */
export declare const CloseCode: Readonly<{
  NORMAL: 1000;
  GOING_AWAY: 1001;
  ABNORMAL: 1006;
  /** Auth failed or expired: the client asks the token provider again, and stops when it has nothing new. */
  AUTH_FAILED: 1008;
  TOO_BIG: 1009;
  INTERNAL: 1011;
  /** The node is draining: the client reconnects at once, to the next URL. */
  DRAINING: 1012;
  /** The node is overloaded: the client backs off (at least the base delay) and tries the next URL. */
  OVERLOADED: 1013;
  /** The backend disconnected the user (POST /v1/users/{userId}/disconnect): the client stops, unless reconnectOnDisconnect. */
  DISCONNECTED: 4001;
}>;

export type RelayState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed' | 'auth_failed' | 'disconnected';

export declare const State: Readonly<{
  IDLE: 'idle';
  CONNECTING: 'connecting';
  READY: 'ready';
  RECONNECTING: 'reconnecting';
  CLOSED: 'closed';
  AUTH_FAILED: 'auth_failed';
  DISCONNECTED: 'disconnected';
}>;

export declare const DEFAULTS: Readonly<{
  backoffBaseMs: number;
  backoffCapMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
  dedupeSize: number;
  outboxSize: number;
  renewRetryMs: number;
}>;

/** The codes a publish can be refused with: the relay's, then the client's own. */
export type PublishErrorCode =
  | 'bad_frame'
  | 'rate_limited'
  | 'too_large'
  | 'unavailable'
  | 'closed'
  | 'auth_failed'
  | 'disconnected'
  | 'outbox_full';

/** What a publish promise rejects with. bad_frame will fail again as it is; the others may succeed later with the same id. */
export declare class PublishError extends Error {
  readonly name: 'PublishError';
  readonly code: PublishErrorCode | string;
  /** The publish's id. */
  readonly id: string;
  constructor(code: string, message: string, id: string);
}

export interface PublishOptions {
  /** Your own id, 1-128 visible ASCII characters; a retry with the same id is not published twice on one connection. Default: a random UUID. */
  id?: string;
}

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Returns a number in [0, 1); Math.random by default. */
  random?: () => number;
}

/** Full jitter: uniform in [0, min(capMs, baseMs * 2^attempt)). */
export declare function backoffDelay(attempt: number, options?: BackoffOptions): number;

/** Uniform in [baseMs, min(capMs, baseMs * 2^(attempt + 1))): the wait after 1013. */
export declare function overloadDelay(attempt: number, options?: BackoffOptions): number;

/** When the client renews a token ending at expiresAtMs: at 80 % of its remaining life or 30 s before its end, whichever is earlier (0 when past). */
export declare function renewalDelay(expiresAtMs: number, nowMs: number): number;

/** What the token provider is told on each call. */
export interface TokenRequest {
  /** The socket URL the token is for (without the token). */
  url: string;
  /** Failed attempts since the last ready connection. */
  attempt: number;
  /** Set after a 1008 close: the token the node refused. Returning it again ends in auth_failed. */
  rejectedToken: string | null;
  /** True when the token renews the open socket's (an auth frame), not a connect. */
  renewal?: boolean;
}

export type TokenProvider = (request: TokenRequest) => string | Promise<string>;

/** The minimal WebSocket the client needs: the browser's, Node 22's global, undici's or the ws package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface RelayClientOptions {
  /** The node's socket URL, e.g. wss://relay.example.com/ws (http(s) is turned into ws(s); relative URLs resolve against the page). */
  url?: string;
  /** Several socket URLs: the client moves to the next one after 1012, 1013 and failed attempts. */
  urls?: string[];
  /** Called before every connect and reconnect; return a JWT whose `sub` is the user id. */
  tokenProvider: TokenProvider;
  /** A WebSocket constructor; globalThis.WebSocket when omitted (Node 20 has none without --experimental-websocket). */
  WebSocketImpl?: WebSocketConstructor;
  /** Backoff base in ms (default 500). */
  backoffBaseMs?: number;
  /** Backoff cap in ms (default 30000). */
  backoffCapMs?: number;
  /** How often to send a ping while ready, in ms (default 25000; 0 turns pings off). */
  pingIntervalMs?: number;
  /** How long to wait for any frame after a ping before reconnecting, in ms (default 10000). */
  pongTimeoutMs?: number;
  /** How long to wait for connection_established after opening a socket, in ms (default 15000). */
  connectTimeoutMs?: number;
  /** How many recent message ids to remember for dropping repeats (default 1000). */
  dedupeSize?: number;
  /** How many publishes may wait for their answer at once (default 1000); more are refused with outbox_full. */
  outboxSize?: number;
  /** Renew the token on the open socket before its exp, from the token provider (default true; tokens without exp are never renewed). */
  autoRenew?: boolean;
  /** How long to wait before trying a refused or failed renewal again, in ms (default 5000). */
  renewRetryMs?: number;
  /** Reconnect after 4001 (disconnected by the server) as after any other loss (default false: the client stops in state disconnected). */
  reconnectOnDisconnect?: boolean;
  /** For tests: the wall clock in ms since the epoch, which token expiries are compared with (default Date.now). */
  now?: () => number;
  /** For tests: the random source of the jitter. */
  random?: () => number;
  /** For tests: the timers the client uses. */
  timers?: Timers;
}

/** From the connection_established frame. */
export interface RelayConnection {
  connectionId: string;
  userId: string;
  nodeId: string;
  serverTime: string;
}

export interface RelayMessage<T = unknown> {
  /** Stable end to end; the client hands each id to the handlers once. */
  id: string;
  event: string;
  data: T;
  /**
   * The relay's accept stamp: ISO 8601 in UTC with six fraction digits, so two stamps compare as strings.
   * A user's messages are handed out in this order.
   */
  sentAt: string;
  /** high: sent with priority high, which may overtake normal messages; order holds within a priority. */
  priority: 'normal' | 'high';
  /** True for a message older than one of its priority already handed out: it came late, after a fault (handed out, never dropped). */
  late: boolean;
}

/** From the caught_up frame: the connection's catch-up is written. */
export interface CaughtUp {
  /** Messages parked while the user was away that came before the frame. */
  count: number;
  connectionId: string | null;
}

export interface StateChange {
  state: RelayState;
  previous: RelayState;
  /** The URL connected to (ready) or to be tried next (connecting, reconnecting). */
  url?: string;
  /** Set when ready. */
  connection?: RelayConnection;
  /** The close code that caused a reconnect or the end (4000: the client gave up on a silent socket). */
  code?: number;
  /** The close reason, or why the client gave up: connect_timeout, pong_timeout, token_provider_failed, … */
  reason?: string;
  /** Failed attempts before this one (reconnecting). */
  attempt?: number;
  /** The wait before the next attempt, in ms (reconnecting). */
  delayMs?: number;
}

export interface RelayClientError {
  /** The server's error code (bad_frame, …) or the client's: token_provider_failed, handler_failed, socket_failed, send_failed. */
  code: string;
  message: string;
  cause?: unknown;
}

export interface RelayClientStats {
  /** Messages handed to handlers. */
  received: number;
  /** Repeated ids dropped. */
  duplicates: number;
  /** Messages handed out with late: true. */
  late: number;
  /** Connections that reached ready. */
  connects: number;
  /** Tokens renewed on an open socket (auth_ok). */
  renewals: number;
  rememberedIds: number;
  /** Publishes waiting for the relay's answer. */
  outbox: number;
}

export declare class RelayClient {
  constructor(options: RelayClientOptions);
  readonly state: RelayState;
  /** The current connection while ready, else null. */
  readonly connection: RelayConnection | null;
  /** The socket URL in use or next in turn. */
  readonly url: string;
  readonly stats: RelayClientStats;
  /**
   * Resolves once the current connection's catch-up is written (a new promise for each connection; after a
   * loss, the next one's); rejects if the client is closed, disconnected or auth_failed first.
   */
  readonly caughtUp: Promise<CaughtUp>;
  /** Starts connecting; a no-op while connecting, ready or reconnecting. */
  connect(): this;
  /** Closes the socket and stops reconnecting. */
  close(code?: number, reason?: string): void;
  /** Messages of one event name, or '*' for all; returns a function that removes the handler. */
  on<T = unknown>(event: string, handler: (message: RelayMessage<T>) => void): () => void;
  off(event: string, handler: (message: RelayMessage<any>) => void): void;
  onState(handler: (change: StateChange) => void): () => void;
  onError(handler: (error: RelayClientError) => void): () => void;
  /** Each connection's caught_up; returns a function that removes the handler. */
  onCaughtUp(handler: (caughtUp: CaughtUp) => void): () => void;
  /** Resolves once ready; rejects if the client is or becomes closed, disconnected or auth_failed. */
  waitForReady(): Promise<RelayConnection>;
  /**
   * Sends a message to the backend through the relay's upstream topic. Resolves with the id once the relay
   * answers accepted; rejects with a PublishError. Waits in the outbox across reconnects, sent again with the same id.
   */
  publish(event: string, data?: unknown, options?: PublishOptions): Promise<string>;
}
