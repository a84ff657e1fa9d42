// The client with the platform's own WebSocket (Node 22+, or Node 20 with --experimental-websocket,
// which the test script passes) against two small relay servers on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient } from '../../relay-client.js';
import { MiniRelayServer } from '../support/mini-relay-server.js';

const established = (nodeId) => ({
  type: 'connection_established', connectionId: `c-${nodeId}`, userId: 'u1', nodeId, serverTime: new Date().toISOString(), status: 'ready',
});
const message = (id, data) => ({ type: 'message', id, event: 'agent_update', data, sentAt: new Date().toISOString() });

test('a real socket: handshake, messages, acks, pings, a drain to the other node', { skip: typeof WebSocket !== 'function' && 'no global WebSocket in this Node' }, async (t) => {
  const nodeA = await new MiniRelayServer().start();
  const nodeB = await new MiniRelayServer().start();
  t.after(() => Promise.all([nodeA.stop(), nodeB.stop()]));

  let issued = 0;
  const client = new RelayClient({
    urls: [nodeA.url, nodeB.url],
    tokenProvider: async () => `token-${++issued}`,
    pingIntervalMs: 50,
    pongTimeoutMs: 2000,
  });
  t.after(() => client.close());
  const seen = [];
  const states = [];
  client.on('agent_update', (m) => seen.push([m.id, m.data.step]));
  client.onState((s) => states.push(`${s.state}${s.connection ? `@${s.connection.nodeId}` : ''}`));

  const onA = nodeA.nextConnection();
  client.connect();
  const a = await onA;
  assert.equal(a.token, 'token-1');
  a.send(established('node-a'));
  assert.equal((await client.waitForReady()).nodeId, 'node-a');

  a.send(message('m1', { step: 1 })).send(message('m1', { step: 1 }));
  await a.waitFor((f) => f.type === 'ack' && f.id === 'm1');
  await a.waitFor((f) => f.type === 'ping');
  a.send({ type: 'pong', serverTime: new Date().toISOString() });

  // The node drains: 1012, and the client goes straight to the other node with a fresh token.
  const onB = nodeB.nextConnection();
  a.close(1012, 'node draining, reconnect');
  const b = await onB;
  assert.equal(b.token, 'token-2');
  const readyAgain = new Promise((resolve) => client.onState((s) => s.state === 'ready' && resolve(s)));
  b.send(established('node-b'));
  assert.equal((await readyAgain).connection.nodeId, 'node-b');
  b.send(message('m1', { step: 1 })).send(message('m2', { step: 2 }));
  await b.waitFor((f) => f.type === 'ack' && f.id === 'm2');

  assert.deepEqual(seen, [['m1', 1], ['m2', 2]], 'm1 once, though the new node sent it again');
  assert.equal(a.received.filter((f) => f.type === 'ack').length, 2, 'both copies acked on node a');
  assert.deepEqual(states, ['connecting', 'ready@node-a', 'reconnecting', 'ready@node-b']);

  const closed = new Promise((resolve) => b.once('close', resolve));
  client.close();
  assert.equal((await closed).code, 1000);
});
