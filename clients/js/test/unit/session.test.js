import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renewalDelay, State, CloseCode } from '../../relay-client.js';
import { setup, ready, settle } from './setup.js';

/** A JWT-shaped token (the client reads exp only; the node checks the signature) ending at expSeconds. */
function jwt(name, expSeconds) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ sub: 'u1', exp: expSeconds, jti: name })}.sig`;
}

/** A client whose provider hands out jwt-1, jwt-2, … each living `lifeSeconds` from the fake clock's now. */
function withJwts(lifeSeconds, options = {}) {
  const tokens = [];
  const asked = [];
  let ctx;
  const tokenProvider = async (request) => {
    asked.push(request);
    const token = jwt(`t${tokens.length + 1}`, Math.floor(ctx.timers.now / 1000) + lifeSeconds);
    tokens.push(token);
    return token;
  };
  ctx = setup({ tokenProvider, now: () => ctx.timers.now, pingIntervalMs: 0, ...options });
  return Object.assign(ctx, { tokens, asked });
}

describe('renewal', () => {
  test('renewalDelay: 80 % of the remaining life, or 30 s before the end, whichever is earlier', () => {
    assert.equal(renewalDelay(3_600_000, 0), 2_880_000, 'an hour: at 48 minutes');
    assert.equal(renewalDelay(100_000, 0), 70_000, '100 s: 30 s before the end');
    assert.equal(renewalDelay(10_000, 0), 0, 'little left: at once');
    assert.equal(renewalDelay(0, 5_000), 0, 'past: at once');
  });

  test('the token is renewed on the open socket before exp, from the provider, and again after auth_ok', async () => {
    const { client, relay, timers, tokens, asked } = withJwts(100);
    client.connect();
    await settle();
    relay.last.establish();
    await timers.advance(69_999);
    assert.deepEqual(relay.last.sentOf('auth'), [], 'not before 70 s');
    await timers.advance(1);
    assert.equal(asked.at(-1).renewal, true);
    assert.deepEqual(relay.last.sentOf('auth'), [{ type: 'auth', token: tokens[1] }]);
    relay.last.push({ type: 'auth_ok', expiresAt: new Date(170_000).toISOString() });
    assert.equal(client.stats.renewals, 1);
    await timers.advance(70_000);
    assert.deepEqual(relay.last.sentOf('auth').map((f) => f.token), [tokens[1], tokens[2]], 'the new token is renewed in turn');
    assert.equal(relay.sockets.length, 1, 'the same socket all along');
    assert.equal(client.state, State.READY);
  });

  test('a refused renewal is reported and tried again; the socket stays', async () => {
    const { client, relay, timers, errors } = withJwts(100, { renewRetryMs: 5_000 });
    client.connect();
    await settle();
    relay.last.establish();
    await timers.advance(70_000);
    relay.last.push({ type: 'error', code: 'auth_failed', message: 'token names another user' });
    assert.equal(errors.at(-1).code, 'auth_failed');
    assert.equal(client.state, State.READY);
    await timers.advance(5_000);
    assert.equal(relay.last.sentOf('auth').length, 2, 'tried again after renewRetryMs');
    assert.equal(client.stats.renewals, 0);
  });

  test('a renewal that gets no answer is sent again after renewRetryMs', async () => {
    const { client, relay, timers } = withJwts(100, { renewRetryMs: 5_000 });
    client.connect();
    await settle();
    relay.last.establish();
    await timers.advance(70_000);
    assert.equal(relay.last.sentOf('auth').length, 1);
    await timers.advance(4_999);
    assert.equal(relay.last.sentOf('auth').length, 1, 'not before renewRetryMs');
    await timers.advance(1);
    await settle();
    assert.equal(relay.last.sentOf('auth').length, 2, 'the unanswered renewal is tried again');
    relay.last.push({ type: 'auth_ok', expiresAt: new Date(200_000).toISOString() });
    assert.equal(client.stats.renewals, 1);
  });

  test('a token without exp, or autoRenew off, is never renewed', async () => {
    const plain = await ready();
    await plain.timers.advance(10 * 3_600_000);
    assert.deepEqual(plain.relay.last.sentOf('auth'), []);
    const off = withJwts(100, { autoRenew: false });
    off.client.connect();
    await settle();
    off.relay.last.establish();
    await off.timers.advance(200_000);
    assert.deepEqual(off.relay.last.sentOf('auth'), []);
  });
});

describe('disconnected by the server (4001)', () => {
  test('no reconnect, state disconnected, reported; publishes and caughtUp reject', async () => {
    const { client, relay, timers, stateNames, states } = await ready();
    const caughtUp = client.caughtUp;
    const waiting = client.publish('e', 1);
    relay.last.serverClose(CloseCode.DISCONNECTED, 'disconnected by server');
    assert.equal(client.state, State.DISCONNECTED);
    assert.equal(states.at(-1).code, 4001);
    await assert.rejects(waiting, { code: 'disconnected' });
    await assert.rejects(caughtUp, { state: 'disconnected' });
    await assert.rejects(client.waitForReady(), { state: 'disconnected' });
    await timers.advance(600_000);
    assert.equal(relay.sockets.length, 1, 'no reconnect');
    assert.deepEqual(stateNames(), ['connecting', 'ready', 'disconnected']);
    client.connect();
    await settle();
    relay.last.establish();
    assert.equal(client.state, State.READY, 'connect() starts again');
  });

  test('with reconnectOnDisconnect, a 4001 reconnects with a fresh token like any loss', async () => {
    const { client, relay, timers, asked } = await ready({ reconnectOnDisconnect: true });
    relay.last.serverClose(CloseCode.DISCONNECTED, 'disconnected by server');
    assert.equal(client.state, State.RECONNECTING);
    await timers.advance(10_000);
    assert.equal(relay.sockets.length, 2);
    assert.equal(asked.length, 2);
  });
});

describe('caught up', () => {
  test('caughtUp resolves with the count, and onCaughtUp hears each connection', async () => {
    const { client, relay, timers } = setup();
    const heard = [];
    client.onCaughtUp((c) => heard.push(c));
    client.connect();
    const first = client.caughtUp;
    await settle();
    relay.last.establish({ connectionId: 'c-1' }).message('p1').message('p2').message('p3');
    relay.last.push({ type: 'caught_up', count: 3 });
    assert.deepEqual(await first, { count: 3, connectionId: 'c-1' });
    relay.last.serverClose(1006);
    const second = client.caughtUp;
    assert.notEqual(second, first, 'a new promise for the next connection');
    await timers.advance(10_000);
    relay.last.establish({ connectionId: 'c-2' }).push({ type: 'caught_up', count: 0 });
    assert.deepEqual(await second, { count: 0, connectionId: 'c-2' });
    assert.deepEqual(heard, [{ count: 3, connectionId: 'c-1' }, { count: 0, connectionId: 'c-2' }]);
  });

  test('a socket lost before its caught_up leaves the promise to the next connection', async () => {
    const { client, relay, timers } = setup();
    client.connect();
    const pending = client.caughtUp;
    await settle();
    relay.last.establish();
    relay.last.serverClose(1006);
    assert.equal(client.caughtUp, pending, 'still waiting: the next connection settles it');
    await timers.advance(10_000);
    relay.last.establish().push({ type: 'caught_up', count: 1 });
    assert.equal((await pending).count, 1);
  });

  test('close() rejects a caughtUp still waiting', async () => {
    const { client } = setup();
    client.connect();
    const pending = client.caughtUp;
    client.close();
    await assert.rejects(pending, { state: 'closed' });
  });
});
