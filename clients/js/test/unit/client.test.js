import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient, State } from '../../relay-client.js';
import { FakeRelay } from '../support/fakes.js';
import { setup, ready, settle, NODE_1, NODE_2 } from './setup.js';

describe('states', () => {
  test('idle, connecting, and ready only once connection_established arrives', async () => {
    const { client, relay, states, stateNames } = setup();
    assert.equal(client.state, State.IDLE);
    client.connect();
    assert.equal(client.state, State.CONNECTING);
    await settle();
    relay.last.accept();
    assert.equal(client.state, State.CONNECTING, 'an open socket is not ready yet');
    relay.last.establish({ connectionId: 'c-9', nodeId: 'node-7', userId: 'alice' });
    assert.equal(client.state, State.READY);
    assert.deepEqual(stateNames(), ['connecting', 'ready']);
    assert.equal(states[1].previous, 'connecting');
    assert.equal(states[1].url, NODE_1);
    assert.deepEqual(client.connection, { connectionId: 'c-9', userId: 'alice', nodeId: 'node-7', serverTime: new Date(0).toISOString() });
  });

  test('connect() while connecting or ready opens no second socket', async () => {
    const { client, relay } = await ready();
    client.connect();
    client.connect();
    await settle();
    assert.equal(relay.sockets.length, 1);
  });

  test('a lost socket goes to reconnecting, then ready again', async () => {
    const { client, relay, timers, stateNames } = await ready();
    relay.last.serverClose(1006);
    assert.equal(client.state, State.RECONNECTING);
    assert.equal(client.connection, null);
    await timers.advance(10_000);
    relay.last.establish();
    assert.deepEqual(stateNames(), ['connecting', 'ready', 'reconnecting', 'ready']);
    assert.equal(client.stats.connects, 2);
  });

  test('close() closes the socket with 1000 and stops for good', async () => {
    const { client, relay, timers, stateNames } = await ready();
    const socket = relay.last;
    client.close();
    assert.equal(client.state, State.CLOSED);
    assert.deepEqual(socket.closedByClient, { code: 1000, reason: 'client closed' });
    await timers.advance(120_000);
    assert.equal(relay.sockets.length, 1, 'no reconnect after close');
    assert.equal(timers.pendingCount, 0, 'no timer left behind');
    assert.deepEqual(stateNames(), ['connecting', 'ready', 'closed']);
  });

  test('close() during the backoff wait or the token fetch cancels the reconnect', async () => {
    let release;
    const { client, relay, timers } = setup({
      tokenProvider: () => new Promise((resolve) => { release = resolve; }),
    });
    client.connect();
    client.close();
    release('late-token');
    await settle();
    assert.equal(relay.sockets.length, 0, 'a token that arrives after close opens nothing');
    client.connect();
    release('t');
    await settle();
    relay.last.serverClose(1006);
    client.close();
    await timers.advance(60_000);
    assert.equal(relay.sockets.length, 1);
  });

  test('waitForReady resolves with the connection, and rejects on close', async () => {
    const { client, relay } = setup();
    client.connect();
    const readyPromise = client.waitForReady();
    await settle();
    relay.last.establish({ nodeId: 'node-2' });
    assert.equal((await readyPromise).nodeId, 'node-2');
    assert.equal((await client.waitForReady()).nodeId, 'node-2', 'already ready: resolves at once');
    relay.last.serverClose(1006);
    const pending = client.waitForReady();
    client.close();
    await assert.rejects(pending, { state: 'closed' });
  });

  test('the client can connect again after close()', async () => {
    const { client, relay } = await ready();
    client.close();
    client.connect();
    await settle();
    relay.last.establish();
    assert.equal(client.state, State.READY);
    assert.equal(relay.sockets.length, 2);
  });
});

describe('messages', () => {
  test('handlers by event name and the catch-all each get the message once; every message is acked', async () => {
    const { client, relay } = await ready();
    const named = [];
    const all = [];
    client.on('agent_update', (m) => named.push(m));
    client.on('*', (m) => all.push(m.id));
    relay.last.message('m1', 'agent_update', { step: 3 });
    relay.last.message('m2', 'chat', { text: 'hi' });
    assert.deepEqual(named, [{ id: 'm1', event: 'agent_update', data: { step: 3 }, sentAt: '1970-01-01T00:00:00.000000Z', priority: 'normal', late: false }]);
    assert.deepEqual(all, ['m1', 'm2']);
    assert.deepEqual(relay.last.sentOf('ack'), [{ type: 'ack', id: 'm1' }, { type: 'ack', id: 'm2' }]);
  });

  test('a repeated id reaches no handler but is acked again', async () => {
    const { client, relay } = await ready();
    const seen = [];
    client.on('*', (m) => seen.push(m.id));
    relay.last.message('m1').message('m1').message('m2').message('m1');
    assert.deepEqual(seen, ['m1', 'm2']);
    assert.equal(relay.last.sentOf('ack').length, 4);
    assert.equal(client.stats.received, 2);
    assert.equal(client.stats.duplicates, 2);
  });

  test('repeats are dropped across reconnects, to another node too', async () => {
    const { client, relay, timers } = await ready();
    const seen = [];
    client.on('*', (m) => seen.push(m.id));
    relay.last.message('parked-1');
    relay.last.serverClose(1012);
    await timers.advance(0);
    relay.last.establish({ nodeId: 'node-2' }).message('parked-1').message('live-2');
    assert.deepEqual(seen, ['parked-1', 'live-2']);
  });

  test('a message older than one handed out, across a reconnect too, is handed out marked late, never dropped', async () => {
    const { client, relay, timers } = await ready();
    const seen = [];
    client.on('*', (m) => seen.push(`${m.id}${m.late ? ' late' : ''}`));
    const at = (n) => `2026-12-01T10:00:00.00000${n}Z`;
    relay.last.message('m1', 'e', 1, at(1)).message('m3', 'e', 3, at(3));
    relay.last.serverClose(1012);
    await timers.advance(0);
    relay.last.establish({ nodeId: 'node-2' }).message('m2', 'e', 2, at(2)).message('m4', 'e', 4, at(4))
      .message('m4b', 'e', 4, at(4));
    assert.deepEqual(seen, ['m1', 'm3', 'm2 late', 'm4', 'm4b']);
    assert.equal(client.stats.late, 1);
  });

  test('a high priority message may overtake normal ones: neither is late, order is judged within a priority', async () => {
    const { client, relay } = await ready();
    const seen = [];
    client.on('*', (m) => seen.push(`${m.id} ${m.priority}${m.late ? ' late' : ''}`));
    const at = (n) => `2026-12-01T10:00:00.00000${n}Z`;
    relay.last.push({ type: 'message', id: 'h3', event: 'e', data: 3, sentAt: at(3), priority: 'high' });
    relay.last.message('n1', 'e', 1, at(1)).message('n2', 'e', 2, at(2));
    relay.last.push({ type: 'message', id: 'h2', event: 'e', data: 2, sentAt: at(2), priority: 'high' });
    assert.deepEqual(seen, ['h3 high', 'n1 normal', 'n2 normal', 'h2 high late']);
    assert.equal(client.stats.late, 1);
  });

  test('dedupe memory is bounded: the oldest ids are forgotten first', async () => {
    const { client, relay } = await ready({ dedupeSize: 3 });
    const seen = [];
    client.on('*', (m) => seen.push(m.id));
    for (const id of ['a', 'b', 'c', 'd']) relay.last.message(id);
    assert.equal(client.stats.rememberedIds, 3);
    relay.last.message('d').message('b').message('a');
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'a'], 'a was forgotten, b and d were not');
    for (let i = 0; i < 100; i++) relay.last.message(`x${i}`);
    assert.equal(client.stats.rememberedIds, 3);
  });

  test('a throwing handler is reported and does not stop the others or the ack', async () => {
    const { client, relay, errors } = await ready();
    const seen = [];
    client.on('e', () => { throw new Error('boom'); });
    client.on('e', (m) => seen.push(m.id));
    relay.last.message('m1', 'e');
    assert.deepEqual(seen, ['m1']);
    assert.equal(errors[0].code, 'handler_failed');
    assert.equal(relay.last.sentOf('ack').length, 1);
  });

  test('off() and the returned function remove handlers', async () => {
    const { client, relay } = await ready();
    const seen = [];
    const h = (m) => seen.push(m.id);
    const stop = client.on('*', h);
    client.on('e', h);
    relay.last.message('m1', 'e');
    stop();
    client.off('e', h);
    relay.last.message('m2', 'e');
    assert.deepEqual(seen, ['m1', 'm1']);
  });

  test('error frames and bad frames go to onError; the socket stays up', async () => {
    const { client, relay, errors } = await ready();
    relay.last.push({ type: 'error', code: 'bad_frame', message: 'unknown type' });
    relay.last.push('not json');
    relay.last.push({ type: 'message', event: 'no-id' });
    relay.last.push({ type: 'something_new' });
    assert.deepEqual(errors.map((e) => e.code), ['bad_frame', 'bad_frame', 'bad_frame']);
    assert.equal(errors[0].message, 'unknown type');
    assert.equal(client.state, State.READY);
  });
});

describe('tokens', () => {
  test('the token provider is asked on every connect and the token goes in a bearer subprotocol, never in the URL', async () => {
    const { client, relay, timers, asked } = await ready();
    assert.equal(relay.sockets[0].token, 'token-1');
    assert.ok(!relay.sockets[0].url.includes('token-1'), 'no token in the URL');
    relay.last.serverClose(1006);
    await timers.advance(10_000);
    relay.last.serverClose(1006);
    await timers.advance(10_000);
    assert.deepEqual(relay.sockets.map((s) => s.token), ['token-1', 'token-2', 'token-3']);
    assert.equal(asked.length, 3);
    assert.deepEqual(asked.map((a) => a.rejectedToken), [null, null, null]);
    assert.equal(client.state, State.RECONNECTING);
  });

  test('1008: a fresh token from the provider, then a reconnect with it', async () => {
    const { client, relay, timers, asked, stateNames } = await ready();
    relay.last.serverClose(1008, 'token expired');
    assert.equal(client.state, State.RECONNECTING);
    await timers.advance(10_000);
    assert.equal(asked.at(-1).rejectedToken, 'token-1', 'the provider is told which token was refused');
    assert.equal(relay.last.token, 'token-2');
    relay.last.establish();
    assert.deepEqual(stateNames(), ['connecting', 'ready', 'reconnecting', 'ready']);
  });

  test('1008 and the provider gives the same token again: auth_failed, no new socket', async () => {
    const { client, relay, timers, stateNames } = await ready({ tokenProvider: async () => 'only-token' });
    relay.last.serverClose(1008);
    await timers.advance(60_000);
    assert.equal(client.state, State.AUTH_FAILED);
    assert.equal(relay.sockets.length, 1);
    assert.equal(timers.pendingCount, 0);
    assert.deepEqual(stateNames(), ['connecting', 'ready', 'reconnecting', 'auth_failed']);
    await assert.rejects(client.waitForReady(), { state: 'auth_failed' });
  });

  test('1008 and the provider fails: auth_failed', async () => {
    let calls = 0;
    const { client, relay, timers, errors } = await ready({
      tokenProvider: async () => {
        calls += 1;
        if (calls > 1) throw new Error('session expired, log in again');
        return 'first';
      },
    });
    relay.last.serverClose(1008);
    await timers.advance(60_000);
    assert.equal(client.state, State.AUTH_FAILED);
    assert.equal(errors[0].code, 'token_provider_failed');
    assert.equal(relay.sockets.length, 1);
  });

  test('a provider failure on an ordinary reconnect is retried with backoff', async () => {
    let calls = 0;
    const { client, relay, timers, states } = await ready({
      tokenProvider: async () => {
        calls += 1;
        if (calls === 2) throw new Error('token endpoint unreachable');
        return `t${calls}`;
      },
    });
    relay.last.serverClose(1006);
    await timers.advance(states.at(-1).delayMs);
    assert.equal(client.state, State.RECONNECTING);
    assert.equal(states.at(-1).reason, 'token_provider_failed');
    await timers.advance(states.at(-1).delayMs);
    assert.equal(relay.last.token, 't3');
    relay.last.establish();
    assert.equal(client.state, State.READY);
  });

  test('auth_failed ends until connect() is called again', async () => {
    let token = 'old';
    const { client, relay, timers } = await ready({ tokenProvider: async () => token });
    relay.last.serverClose(1008);
    await timers.advance(60_000);
    assert.equal(client.state, State.AUTH_FAILED);
    token = 'after-login';
    client.connect();
    await settle();
    relay.last.establish();
    assert.equal(client.state, State.READY);
    assert.equal(relay.last.token, 'after-login');
  });
});

describe('close codes', () => {
  test('1012 after ready: reconnect at once, to the next node', async () => {
    const { relay, timers, states } = await ready();
    assert.equal(relay.last.endpoint, NODE_1);
    relay.last.serverClose(1012, 'node draining, reconnect');
    assert.equal(states.at(-1).delayMs, 0);
    assert.equal(states.at(-1).url, NODE_2);
    await timers.advance(0);
    assert.equal(relay.sockets.length, 2);
    assert.equal(relay.last.endpoint, NODE_2);
  });

  test('urls rotate round robin; one url stays put', async () => {
    const { relay, timers } = await ready();
    relay.last.serverClose(1012);
    await timers.advance(0);
    relay.last.establish().serverClose(1012);
    await timers.advance(0);
    assert.deepEqual(relay.sockets.map((s) => s.endpoint), [NODE_1, NODE_2, NODE_1]);

    const single = await ready({ urls: undefined, url: 'http://only.test/ws' });
    single.relay.last.serverClose(1012);
    await single.timers.advance(0);
    assert.deepEqual(single.relay.sockets.map((s) => s.endpoint), ['ws://only.test/ws', 'ws://only.test/ws']);
  });

  test('1012 while the previous attempt already failed: back off, do not spin', async () => {
    const { relay, timers, states } = await ready();
    relay.last.serverClose(1012);
    await timers.advance(0);
    relay.last.serverClose(1012); // the next node drains too, before it was ever ready
    assert.ok(states.at(-1).delayMs > 0);
  });

  test('1013: back off at least the base delay, and try the next node', async () => {
    const { relay, states } = await ready({ backoffBaseMs: 400, random: () => 0 });
    relay.last.serverClose(1013, 'overloaded');
    assert.equal(states.at(-1).state, 'reconnecting');
    assert.equal(states.at(-1).delayMs, 400);
    assert.equal(states.at(-1).url, NODE_2);
  });

  test('other closes after ready: same node, full-jitter backoff', async () => {
    for (const code of [1000, 1006, 1009]) {
      const { relay, timers, states } = await ready({ backoffBaseMs: 1000 });
      relay.last.serverClose(code);
      assert.equal(states.at(-1).delayMs, 500, `code ${code}`);
      assert.equal(states.at(-1).code, code);
      await timers.advance(499);
      assert.equal(relay.sockets.length, 1, 'nothing before the delay');
      await timers.advance(1);
      assert.equal(relay.last.endpoint, NODE_1);
    }
  });

  test('1001 and 1011 after ready, and any failure before ready: the next node', async () => {
    for (const code of [1001, 1011]) {
      const { relay, states } = await ready();
      relay.last.serverClose(code);
      assert.equal(states.at(-1).url, NODE_2, `code ${code}`);
    }
    const { client, relay, states } = setup();
    client.connect();
    await settle();
    relay.last.serverClose(1006);
    assert.equal(states.at(-1).url, NODE_2);
  });
});

describe('keepalive', () => {
  test('pings on the interval; a pong in time keeps the socket', async () => {
    const { client, relay, timers } = await ready({ pingIntervalMs: 1000, pongTimeoutMs: 300 });
    for (let i = 1; i <= 3; i++) {
      await timers.advance(i * 1000 - timers.now);
      assert.equal(relay.last.sentOf('ping').length, i);
      await timers.advance(299);
      relay.last.push({ type: 'pong', serverTime: new Date(0).toISOString() });
      await timers.advance(1);
      assert.equal(client.state, State.READY);
    }
    assert.equal(relay.sockets.length, 1);
  });

  test('no pong within the timeout: the client closes the socket and reconnects', async () => {
    const { client, relay, timers, states } = await ready({ pingIntervalMs: 1000, pongTimeoutMs: 300 });
    const socket = relay.last;
    await timers.advance(1299);
    assert.equal(client.state, State.READY);
    await timers.advance(1);
    assert.equal(client.state, State.RECONNECTING);
    assert.equal(states.at(-1).reason, 'pong_timeout');
    assert.equal(socket.closedByClient.code, 4000);
    await timers.advance(states.at(-1).delayMs);
    assert.equal(relay.sockets.length, 2);
  });

  test('any frame counts as a sign of life', async () => {
    const { client, relay, timers } = await ready({ pingIntervalMs: 1000, pongTimeoutMs: 300 });
    await timers.advance(1000);
    relay.last.message('m1');
    await timers.advance(299);
    await timers.advance(1);
    assert.equal(client.state, State.READY);
  });

  test('pingIntervalMs 0 turns pings off', async () => {
    const { relay, timers } = await ready({ pingIntervalMs: 0 });
    await timers.advance(600_000);
    assert.equal(relay.last.sentOf('ping').length, 0);
  });

  test('no connection_established within the connect timeout: try again', async () => {
    const { client, relay, timers, states } = setup({ connectTimeoutMs: 5000 });
    client.connect();
    await settle();
    relay.last.accept();
    await timers.advance(5000);
    assert.equal(client.state, State.RECONNECTING);
    assert.equal(states.at(-1).reason, 'connect_timeout');
    assert.equal(relay.sockets[0].closedByClient.code, 4000);
  });
});

describe('options', () => {
  const WebSocketImpl = new FakeRelay().WebSocket;
  const tokenProvider = async () => 't';

  test('reports bad options at construction', () => {
    assert.throws(() => new RelayClient({ tokenProvider, WebSocketImpl }), /url/);
    assert.throws(() => new RelayClient({ urls: [], tokenProvider, WebSocketImpl }), /url/);
    assert.throws(() => new RelayClient({ url: 'ftp://x/ws', tokenProvider, WebSocketImpl }), /WebSocket URL/);
    assert.throws(() => new RelayClient({ url: 'ws://x/ws', WebSocketImpl }), /tokenProvider/);
    assert.throws(() => new RelayClient({ url: 'ws://x/ws', tokenProvider, WebSocketImpl, backoffBaseMs: -1 }), /backoffBaseMs/);
    assert.throws(() => new RelayClient({ url: 'ws://x/ws', tokenProvider, WebSocketImpl, backoffBaseMs: 10, backoffCapMs: 5 }), /backoffCapMs/);
    assert.throws(() => new RelayClient({ url: 'ws://x/ws', tokenProvider, WebSocketImpl, dedupeSize: 0 }), /dedupeSize/);
  });

  test('without an injected implementation it needs a global WebSocket', () => {
    const saved = globalThis.WebSocket;
    try {
      delete globalThis.WebSocket;
      assert.throws(() => new RelayClient({ url: 'ws://x/ws', tokenProvider }), /WebSocketImpl/);
      globalThis.WebSocket = WebSocketImpl;
      assert.equal(new RelayClient({ url: 'https://x/ws', tokenProvider }).url, 'wss://x/ws');
    } finally {
      if (saved === undefined) delete globalThis.WebSocket;
      else globalThis.WebSocket = saved;
    }
  });
});
