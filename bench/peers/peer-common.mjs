// What both peer servers share: settings from the environment, HS256 token checks, the feed from the
// relay's deliveries topic, the message frame, and the stats endpoint the benchmark reads.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';

/** Every bad or missing variable is reported together, before anything listens. */
export function peerSettings(env) {
  const problems = [];
  const need = (name) => {
    const v = env[name];
    if (!v) problems.push(`${name} is required`);
    return v;
  };
  const settings = {
    port: Number(need('PORT')),
    nodeId: need('RELAY_NODE_ID'),
    secret: need('RELAY_JWT_SECRET'),
    projectId: need('GOOGLE_CLOUD_PROJECT'),
    emulator: need('PUBSUB_EMULATOR_HOST'),
    topic: need('RELAY_DELIVERIES_TOPIC'),
    subscription: need('RELAY_DELIVERIES_SUBSCRIPTION'),
    ackDeadlineSeconds: Number(env.RELAY_ACK_DEADLINE_SECONDS ?? 10),
    // ordered by user, as the relay node's subscription is (the messages carry the user as ordering key)
    ordered: (env.RELAY_DELIVERIES_ORDERED ?? '1') === '1',
    pingIntervalMs: 1000 * Number(env.RELAY_PING_INTERVAL_SECONDS ?? 30),
  };
  if (settings.port && !(settings.port > 0 && settings.port < 65536)) problems.push('PORT must be a port number');
  if (settings.secret && Buffer.byteLength(settings.secret) < 32) problems.push('RELAY_JWT_SECRET must be at least 32 bytes');
  if (problems.length) {
    console.error(`peer settings: ${problems.join('; ')}`);
    process.exit(2);
  }
  return settings;
}

/** Verifies an HS256 JWT as the socket node does (alg pinned, signature, exp required, sub = user id). */
export function tokenVerifier(secret) {
  const key = Buffer.from(secret, 'utf8');
  return (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new Error('no token');
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('malformed token');
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    if (header.alg !== 'HS256') throw new Error('algorithm not accepted');
    const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad signature');
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw new Error('token expired');
    if (typeof claims.nbf === 'number' && claims.nbf > now) throw new Error('token not valid yet');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new Error('no subject');
    return { userId: claims.sub, expiresAtMs: claims.exp * 1000 };
  };
}

/** The `message` frame, field for field what the socket node writes. */
export function messageFrame(m) {
  return { type: 'message', id: m.id, event: m.event, data: m.data ?? null, sentAt: m.sentAt };
}

export function establishedFrame(connectionId, userId, nodeId) {
  return { type: 'connection_established', connectionId, userId, nodeId, serverTime: new Date().toISOString(), status: 'ready' };
}

/**
 * Creates this peer's own delivery topic and subscription, as a relay node does, and hands every
 * message addressed to this node id to `deliver(message, done)`; Pub/Sub is acked once `done` is
 * called. Messages for other node ids are acked away, unreadable ones too.
 */
export async function subscribeDeliveries(settings, deliver, counters) {
  const pubsub = new PubSub({ projectId: settings.projectId });
  const topic = pubsub.topic(settings.topic);
  const [exists] = await topic.exists();
  if (!exists) {
    await topic.create();
  }
  const [subscription] = await topic.createSubscription(settings.subscription, {
    ackDeadlineSeconds: settings.ackDeadlineSeconds,
    enableMessageOrdering: settings.ordered,
  });
  subscription.on('message', (m) => {
    if (m.attributes.node_id !== settings.nodeId) {
      m.ack();
      return;
    }
    let message;
    try {
      message = JSON.parse(m.data.toString('utf8'));
    } catch {
      counters.invalid++;
      m.ack();
      return;
    }
    deliver(message, () => m.ack());
  });
  subscription.on('error', (e) => {
    console.error(`subscription ${settings.subscription}: ${e.message}`);
    process.exit(1);
  });
  return {
    async close() {
      await subscription.close();
      await subscription.delete();
      await pubsub.close();
    },
  };
}

/** Sockets of each user, as the socket node's hub holds them. */
export class SocketsByUser {
  #byUser = new Map();
  size = 0;

  add(userId, socket) {
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(socket);
    this.size++;
  }

  remove(userId, socket) {
    const set = this.#byUser.get(userId);
    if (set && set.delete(socket)) {
      this.size--;
      if (set.size === 0) this.#byUser.delete(userId);
    }
  }

  of(userId) {
    return this.#byUser.get(userId);
  }

  *all() {
    for (const set of this.#byUser.values()) yield* set;
  }
}

/**
 * GET /stats: counters and process.memoryUsage(); with ?gc=1 it first collects garbage (needs
 * node --expose-gc). Anything else: 404. Peers answer only once they are subscribed.
 */
export function statsHandler(counters, sockets) {
  return (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (req.method !== 'GET' || url.pathname !== '/stats') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('gc') === '1') {
      if (typeof global.gc !== 'function') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"start node with --expose-gc"}');
        return;
      }
      global.gc();
      global.gc();
    }
    const mem = process.memoryUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sockets: sockets.size, ...counters, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal,
      external: mem.external, arrayBuffers: mem.arrayBuffers, rss: mem.rss }));
  };
}

/** SIGTERM and SIGINT: close the sockets, delete the subscription, exit. */
export function stopOn(signals, stop) {
  let stopping = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      stop().then(() => process.exit(0), (e) => {
        console.error(`stopping: ${e.message}`);
        process.exit(1);
      });
    });
  }
}
