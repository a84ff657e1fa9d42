import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, overloadDelay, DEFAULTS } from '../../relay-client.js';
import { setup, settle } from './setup.js';

const opts = { baseMs: 100, capMs: 5000 };

test('the backoff window doubles per attempt and stops at the cap', () => {
  const top = () => 0.999999;
  const expected = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
  expected.forEach((ceiling, attempt) => {
    assert.equal(backoffDelay(attempt, { ...opts, random: () => 0 }), 0, `attempt ${attempt} can be immediate`);
    const high = backoffDelay(attempt, { ...opts, random: top });
    assert.ok(high < ceiling && high >= ceiling - 1, `attempt ${attempt}: ${high} just under ${ceiling}`);
  });
  assert.ok(backoffDelay(1e6, { ...opts, random: top }) < 5000, 'huge attempt counts stay under the cap');
});

test('full jitter: the delay is the random draw scaled to the window', () => {
  for (const r of [0, 0.1, 0.25, 0.5, 0.9]) {
    assert.equal(backoffDelay(3, { ...opts, random: () => r }), Math.floor(r * 800));
  }
  const draws = Array.from({ length: 2000 }, () => backoffDelay(4, opts));
  assert.ok(draws.every((d) => d >= 0 && d < 1600), 'all within [0, 1600)');
  assert.ok(Math.min(...draws) < 160 && Math.max(...draws) > 1440, 'spread over the whole window');
  assert.ok(new Set(draws).size > 500, 'not a fixed schedule');
});

test('the overload delay never goes below the base', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const low = overloadDelay(attempt, { ...opts, random: () => 0 });
    const high = overloadDelay(attempt, { ...opts, random: () => 0.999999 });
    assert.equal(low, 100);
    assert.ok(high <= Math.min(5000, 100 * 2 ** (attempt + 1)) && high >= low);
  }
});

test('defaults are sane', () => {
  assert.ok(DEFAULTS.backoffBaseMs > 0 && DEFAULTS.backoffCapMs >= DEFAULTS.backoffBaseMs);
  assert.ok(DEFAULTS.pongTimeoutMs < DEFAULTS.pingIntervalMs);
});

test('a client that keeps failing waits longer each time, within the configured bounds', async () => {
  const { client, relay, timers, states } = setup({ backoffBaseMs: 100, backoffCapMs: 1000, random: () => 0.999 });
  client.connect();
  for (let i = 0; i < 7; i++) {
    await settle();
    relay.last.serverClose(1006); // handshake refused, e.g. the node is down
    const delay = states.at(-1).delayMs;
    await timers.advance(delay);
  }
  const delays = states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs);
  assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
  assert.equal(relay.sockets.length, 8);
});

test('a successful connection resets the backoff', async () => {
  const { client, relay, timers, states } = setup({ backoffBaseMs: 100, backoffCapMs: 10_000 });
  client.connect();
  await settle();
  for (let i = 0; i < 3; i++) {
    relay.last.serverClose(1006);
    await timers.advance(states.at(-1).delayMs);
  }
  assert.equal(states.at(-1).attempt, 2);
  relay.last.establish();
  relay.last.serverClose(1006);
  assert.equal(states.at(-1).state, 'reconnecting');
  assert.equal(states.at(-1).attempt, 0);
  assert.equal(states.at(-1).delayMs, 50);
});
