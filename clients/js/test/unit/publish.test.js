import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishError, State } from '../../relay-client.js';
import { setup, ready, settle } from './setup.js';

const publishes = (socket) => socket.sent.filter((f) => f.type === 'publish');

describe('publish', () => {
  test('sends the frame and resolves with the id once the relay answers accepted', async () => {
    const { client, relay } = await ready();
    let resolved = null;
    const p = client.publish('echo', { text: 'hi' }, { id: 'p-1' }).then((id) => { resolved = id; });
    assert.deepEqual(publishes(relay.last), [{ type: 'publish', id: 'p-1', event: 'echo', data: { text: 'hi' } }]);
    await settle();
    assert.equal(resolved, null, 'not before the answer');
    relay.last.push({ type: 'accepted', id: 'p-1' });
    await p;
    assert.equal(resolved, 'p-1');
    assert.equal(client.stats.outbox, 0);
  });

  test('rejects with the relay error code, and other error frames still go to onError', async () => {
    const { client, relay, errors } = await ready();
    const p = client.publish('echo', 1, { id: 'p-2' });
    relay.last.push({ type: 'error', code: 'too_large', id: 'p-2', message: 'frame over 16 KiB' });
    await assert.rejects(p, (e) => e instanceof PublishError && e.code === 'too_large' && e.id === 'p-2');
    relay.last.push({ type: 'error', code: 'rate_limited', message: 'slow down' });
    assert.equal(errors.at(-1).code, 'rate_limited');
  });

  test('a random id when none is given; the same id while waiting returns the same promise', async () => {
    const { client, relay } = await ready();
    const a = client.publish('echo', 1);
    const id = publishes(relay.last)[0].id;
    assert.match(id, /^[\x21-\x7E]{1,128}$/);
    const b = client.publish('echo', 1, { id: 'same' });
    assert.equal(client.publish('echo', 1, { id: 'same' }), b);
    assert.equal(publishes(relay.last).length, 2, 'the repeat while waiting sends nothing more');
    relay.last.push({ type: 'accepted', id });
    relay.last.push({ type: 'accepted', id: 'same' });
    assert.equal(await a, id);
    assert.equal(await b, 'same');
  });

  test('the outbox waits across a reconnect and is sent again with the same ids, in order', async () => {
    const { client, relay, timers } = await ready();
    const first = relay.last;
    const a = client.publish('echo', 'a', { id: 'a' });
    const b = client.publish('echo', 'b', { id: 'b' });
    first.push({ type: 'accepted', id: 'a' });
    first.serverClose(1012); // b is not answered: the node drained
    assert.equal(client.state, State.RECONNECTING);
    const c = client.publish('echo', 'c', { id: 'c' }); // made while no socket is ready: waits
    await timers.advance(10_000);
    const second = relay.last;
    assert.notEqual(second, first);
    assert.deepEqual(publishes(second), [], 'nothing before connection_established');
    second.establish();
    assert.deepEqual(publishes(second).map((f) => f.id), ['b', 'c']);
    second.push({ type: 'accepted', id: 'b' });
    second.push({ type: 'accepted', id: 'c' });
    assert.deepEqual(await Promise.all([a, b, c]), ['a', 'b', 'c']);
    assert.equal(client.stats.outbox, 0);
  });

  test('close() rejects what is still waiting; publishing on a closed client rejects at once', async () => {
    const { client } = await ready();
    const p = client.publish('echo', 1, { id: 'w' });
    client.close();
    await assert.rejects(p, (e) => e.code === 'closed');
    await assert.rejects(client.publish('echo', 1), (e) => e.code === 'closed');
  });

  test('a full outbox refuses with outbox_full; bad arguments throw', async () => {
    const { client } = setup({ outboxSize: 2 });
    client.connect();
    client.publish('e', 1, { id: '1' });
    client.publish('e', 1, { id: '2' });
    await assert.rejects(client.publish('e', 1, { id: '3' }), (e) => e.code === 'outbox_full');
    assert.throws(() => client.publish('', 1), TypeError);
    assert.throws(() => client.publish('e', 1, { id: 'has space' }), TypeError);
    assert.throws(() => client.publish('e', 1, { id: 'x'.repeat(129) }), TypeError);
  });

  test('publishes go out at most 8 a second, under the relay inbound limit, and an outbox sent again is paced too', async () => {
    const { client, relay, timers } = await ready();
    const all = [];
    for (let i = 0; i < 20; i += 1) all.push(client.publish('echo', i, { id: `p${i}` }));
    assert.equal(publishes(relay.last).length, 8, 'a burst of 8');
    await timers.advance(1000);
    assert.equal(publishes(relay.last).length, 16);
    relay.last.serverClose(1012);
    await timers.advance(0);
    relay.last.establish();
    assert.equal(publishes(relay.last).length, 8, 'the new socket gets the outbox again, paced');
    assert.deepEqual(publishes(relay.last).map((f) => f.id), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    await timers.advance(2000);
    assert.equal(publishes(relay.last).length, 20);
    for (let i = 0; i < 20; i += 1) relay.last.push({ type: 'accepted', id: `p${i}` });
    assert.equal((await Promise.all(all)).length, 20);
  });

  test('a frame over 16 KiB or data that is not JSON is refused here and never sent', async () => {
    const { client, relay } = await ready();
    await assert.rejects(client.publish('echo', 'é'.repeat(9000), { id: 'big' }), (e) => e.code === 'too_large');
    await assert.rejects(client.publish('echo', { n: 1n }, { id: 'bigint' }), (e) => e.code === 'bad_frame');
    assert.deepEqual(publishes(relay.last), []);
    assert.equal(client.stats.outbox, 0);
  });
});
