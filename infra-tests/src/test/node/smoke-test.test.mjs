// Runs scripts/deploy/smoke-test.mjs against a fake relay on loopback: a send endpoint and a
// WebSocket endpoint that speak the relay's contract. The fake delivers frames the awkward ways a
// real server may (fragmented, 16-bit lengths, a ping in the middle of a message), checks that
// every client frame is masked, and records acknowledgements.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../../scripts/deploy/smoke-test.mjs');
const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
const ID_TOKEN = 'test-identity-token';
const children = new Set();

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function verifyJwt(token, secret) {
  const [h, c, s] = (token || '').split('.');
  if (!s) return null;
  const expected = crypto.createHmac('sha256', secret).update(`${h}.${c}`).digest('base64url');
  if (expected !== s) return null;
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  return claims.exp > Date.now() / 1000 ? claims : null;
}

function frame(opcode, payload, fin = true) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, len]) : Buffer.alloc(4);
  if (len >= 126) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  }
  return Buffer.concat([head, payload]);
}

/** Parses masked client frames; every frame must be masked. */
function clientFrames(onFrame, onProtocolError) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const opcode = buf[0] & 0x0f;
      if ((buf[1] & 0x80) === 0) return onProtocolError('unmasked client frame');
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.alloc(len);
      for (let i = 0; i < len; i++) payload[i] = buf[off + 4 + i] ^ mask[i % 4];
      buf = buf.subarray(off + 4 + len);
      onFrame(opcode, payload);
    }
  };
}

async function fakeRelay({ mode = 'deliver', allowedOrigin = null, audience = null } = {}) {
  const state = { sendAttempts: 0, acks: [], pongs: 0, protocolErrors: [], sockets: new Map(), mailbox: new Map(), open: new Set() };

  const deliver = (socket, message) => {
    const text = Buffer.from(JSON.stringify({
      type: 'message', id: message.id, event: message.event,
      data: { ...message.data, padding: 'x'.repeat(300) }, sentAt: new Date().toISOString(),
    }));
    const cut = Math.floor(text.length / 2);
    socket.write(Buffer.concat([
      frame(0x1, text.subarray(0, cut), false),
      frame(0x9, Buffer.from('are-you-there')),
      frame(0x0, text.subarray(cut), true),
    ]));
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404).end();
      return;
    }
    state.sendAttempts += 1;
    if (mode === 'forbidden-at-first' && state.sendAttempts <= 2) {
      res.writeHead(403).end('permission not propagated yet');
      return;
    }
    if (req.headers.authorization !== `Bearer ${ID_TOKEN}`) {
      res.writeHead(401).end('{"error":"unauthenticated"}');
      return;
    }
    if (mode === 'unavailable') {
      res.writeHead(503, { 'retry-after': '1' }).end('{"error":"publish failed"}');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const message = { id: crypto.randomUUID(), event: body.event, data: body.data };
      if (mode !== 'drop') {
        const socket = state.sockets.get(body.userId);
        if (socket) deliver(socket, message);
        else state.mailbox.set(body.userId, [...(state.mailbox.get(body.userId) || []), message]);
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: message.id }));
    });
  });

  server.on('upgrade', (req, socket) => {
    state.open.add(socket);
    socket.on('close', () => state.open.delete(socket));
    socket.on('error', () => {}); // the client may reset the connection when it exits
    const url = new URL(req.url, 'http://fake');
    const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
    const verified = url.pathname === '/ws' ? verifyJwt(bearer || url.searchParams.get('access_token'), SECRET) : null;
    // a node with an audience refuses a token without it, as RELAY_JWT_AUDIENCE does
    const claims = verified && (!audience || verified.aud === audience) ? verified : null;
    if (claims && allowedOrigin && req.headers.origin !== allowedOrigin) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 18\r\nConnection: close\r\n\r\norigin not allowed');
      return;
    }
    if (!claims) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nConnection: close\r\n\r\nunauthorized');
      return;
    }
    const accept = crypto.createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const userId = claims.sub;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', clientFrames((opcode, payload) => {
      if (opcode === 0x1) {
        const f = JSON.parse(payload.toString('utf8'));
        if (f.type === 'ack') state.acks.push(f.id);
      } else if (opcode === 0xa) {
        state.pongs += 1;
      } else if (opcode === 0x8) {
        socket.end(frame(0x8, payload.subarray(0, 2)));
      }
    }, (err) => {
      state.protocolErrors.push(err);
      socket.destroy();
    }));
    state.sockets.set(userId, socket);
    socket.write(frame(0x1, Buffer.from(JSON.stringify({
      type: 'connection_established', connectionId: 'c1', userId, nodeId: 'n1',
      serverTime: new Date().toISOString(), status: 'ready',
    }))));
    for (const m of state.mailbox.get(userId) || []) deliver(socket, m);
    state.mailbox.delete(userId);
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const close = () => new Promise((resolve) => {
    for (const s of state.open) s.destroy();
    server.close(resolve);
  });
  return { base, state, close };
}

function runSmoke(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      const last = stdout.trim().split('\n').pop() || '{}';
      resolve({ code, result: JSON.parse(last), stderr });
    });
  });
}

test('delivers a message sent before the socket and one sent while connected', { timeout: 30000 }, async () => {
  const relay = await fakeRelay();
  try {
    const { code, result, stderr } = await runSmoke(
      ['--socket-url', relay.base, '--send-url', relay.base, '--timeout', '20'],
      { RELAY_JWT_SECRET: SECRET, RELAY_ID_TOKEN: ID_TOKEN });
    assert.equal(code, 0, `${JSON.stringify(result)} ${stderr}`);
    assert.equal(result.ok, true);
    assert.equal(result.ids.length, 2);
    assert.deepEqual([...relay.state.acks].sort(), [...result.ids].sort());
    assert.ok(relay.state.pongs >= 2, 'answers every ping with a pong');
    assert.deepEqual(relay.state.protocolErrors, []);
  } finally {
    await relay.close();
  }
});

test('reads the URLs, the origin and the token audience from terraform output -json', { timeout: 30000 }, async () => {
  const relay = await fakeRelay({ allowedOrigin: 'https://app.example.com', audience: 'push-relay' });
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smoke-'));
  try {
    const outputs = path.join(dir, 'outputs.json');
    await fs.writeFile(outputs, JSON.stringify({
      socket_node_url: { value: relay.base },
      send_url: { value: relay.base },
      allowed_origins: { value: ['https://app.example.com', 'https://other.example.com'] },
      token_audience: { value: 'push-relay' },
    }));
    const secretFile = path.join(dir, 'secret');
    const tokenFile = path.join(dir, 'token');
    await fs.writeFile(secretFile, `${SECRET}\n`);
    await fs.writeFile(tokenFile, `${ID_TOKEN}\n`);
    const { code, result } = await runSmoke(['--outputs', outputs, '--jwt-secret-file', secretFile,
      '--id-token-file', tokenFile, '--timeout', '20']);
    assert.equal(code, 0, JSON.stringify(result));
  } finally {
    await relay.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('fails when the socket node refuses the token', { timeout: 30000 }, async () => {
  const relay = await fakeRelay();
  try {
    const { code, result } = await runSmoke(
      ['--socket-url', relay.base, '--send-url', relay.base, '--timeout', '20'],
      { RELAY_JWT_SECRET: 'another-secret-another-secret-another-secret', RELAY_ID_TOKEN: ID_TOKEN });
    assert.equal(code, 1);
    assert.match(result.error, /handshake refused with HTTP 401/);
  } finally {
    await relay.close();
  }
});

test('retries while the send function still refuses the fresh grant', { timeout: 30000 }, async () => {
  const relay = await fakeRelay({ mode: 'forbidden-at-first' });
  try {
    const { code, result } = await runSmoke(
      ['--socket-url', relay.base, '--send-url', relay.base, '--timeout', '20'],
      { RELAY_JWT_SECRET: SECRET, RELAY_ID_TOKEN: ID_TOKEN });
    assert.equal(code, 0, JSON.stringify(result));
    assert.equal(relay.state.sendAttempts, 4);
  } finally {
    await relay.close();
  }
});

test('fails when the send function keeps refusing the message', { timeout: 30000 }, async () => {
  const relay = await fakeRelay({ mode: 'unavailable' });
  try {
    const { code, result } = await runSmoke(
      ['--socket-url', relay.base, '--send-url', relay.base, '--timeout', '2'],
      { RELAY_JWT_SECRET: SECRET, RELAY_ID_TOKEN: ID_TOKEN });
    assert.equal(code, 1);
    assert.match(result.error, /send answered 503/);
    assert.ok(relay.state.sendAttempts >= 2, 'retried before giving up');
  } finally {
    await relay.close();
  }
});

test('fails within its timeout when a message never arrives', { timeout: 30000 }, async () => {
  const relay = await fakeRelay({ mode: 'drop' });
  try {
    const { code, result } = await runSmoke(
      ['--socket-url', relay.base, '--send-url', relay.base, '--timeout', '1'],
      { RELAY_JWT_SECRET: SECRET, RELAY_ID_TOKEN: ID_TOKEN });
    assert.equal(code, 1);
    assert.match(result.error, /timed out after 1s: established=true/);
  } finally {
    await relay.close();
  }
});

test('reports every missing setting at once', { timeout: 30000 }, async () => {
  const { code, result } = await runSmoke([]);
  assert.equal(code, 2);
  assert.match(result.error, /socket URL missing.*send URL missing.*JWT secret missing/);
});
