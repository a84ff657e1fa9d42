import { RelayClient } from '../../relay-client.js';
import { FakeRelay, FakeTimers, settle } from '../support/fakes.js';

export const NODE_1 = 'ws://node-1.test/ws';
export const NODE_2 = 'ws://node-2.test/ws';

/**
 * A client wired to a fake relay and a manual clock. The default token provider hands out
 * token-1, token-2, … and records what it was asked.
 */
export function setup(options = {}) {
  const relay = new FakeRelay();
  const timers = new FakeTimers();
  const asked = [];
  let issued = 0;
  const tokenProvider = options.tokenProvider ?? (async (context) => {
    asked.push(context);
    issued += 1;
    return `token-${issued}`;
  });
  const client = new RelayClient({
    urls: [NODE_1, NODE_2],
    WebSocketImpl: relay.WebSocket,
    timers,
    random: () => 0.5,
    ...options,
    tokenProvider,
  });
  const states = [];
  const errors = [];
  client.onState((change) => states.push(change));
  client.onError((error) => errors.push(error));
  return { client, relay, timers, asked, states, errors, stateNames: () => states.map((s) => s.state) };
}

/** Connects and completes the handshake on the first socket. */
export async function ready(options) {
  const ctx = setup(options);
  ctx.client.connect();
  await settle();
  ctx.relay.last.establish();
  return ctx;
}

export { settle };
