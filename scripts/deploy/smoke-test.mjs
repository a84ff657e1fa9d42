#!/usr/bin/env node
// Smoke test of a deployed relay, with Node.js built-ins only.
//
// It sends one message to a user before the user is connected (the message must wait in the
// retry subscription or the mailbox), opens a WebSocket as that user, sends a second message
// while connected, and passes when both arrive as `message` frames after `connection_established`.
//
//   node scripts/deploy/smoke-test.mjs --outputs build/tf-outputs.json \
//        --jwt-secret-file build/smoke/jwt-secret --id-token-file build/smoke/id-token
//
// Settings (flag, else environment variable):
//   --outputs FILE          `terraform output -json` (gives socket_node_url and send_url)
//   --socket-url URL        RELAY_SOCKET_URL   ws(s)://host/ws; https://host is taken as wss://host/ws
//   --send-url URL          RELAY_SEND_URL     base URL of the send function
//   --jwt-secret-file FILE  RELAY_JWT_SECRET   HS256 key the socket node verifies tokens with
//   --id-token-file FILE    RELAY_ID_TOKEN     identity token for the send function (IAM)
//   --api-key KEY           RELAY_SEND_API_KEY sent as X-Relay-Api-Key (local stack)
//   --origin ORIGIN         RELAY_ORIGIN       Origin header of the handshake (default: the first
//                                              of the allowed_origins output, if any)
//   --audience AUD          RELAY_JWT_AUDIENCE the aud claim of the client token (default: the
//                                              token_audience output; none when empty)
//   --timeout SECONDS       RELAY_SMOKE_TIMEOUT_SECONDS, default 120
// Exit code 0 when both messages arrived, 1 otherwise; one JSON line on stdout either way.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function settings(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      outputs: { type: 'string' },
      'socket-url': { type: 'string' },
      'send-url': { type: 'string' },
      'jwt-secret-file': { type: 'string' },
      'id-token-file': { type: 'string' },
      'api-key': { type: 'string' },
      origin: { type: 'string' },
      audience: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const outputs = values.outputs ? JSON.parse(fs.readFileSync(values.outputs, 'utf8')) : {};
  const output = (name) => (outputs[name] ? outputs[name].value : undefined);
  const readFile = (file) => (file ? fs.readFileSync(file, 'utf8').trim() : undefined);

  const socketUrl = values['socket-url'] || env.RELAY_SOCKET_URL || output('socket_node_url');
  const sendUrl = values['send-url'] || env.RELAY_SEND_URL || output('send_url');
  const jwtSecret = readFile(values['jwt-secret-file']) || env.RELAY_JWT_SECRET;
  const problems = [];
  if (!socketUrl) problems.push('socket URL missing (--socket-url, RELAY_SOCKET_URL or --outputs)');
  if (!sendUrl) problems.push('send URL missing (--send-url, RELAY_SEND_URL or --outputs)');
  if (!jwtSecret) problems.push('JWT secret missing (--jwt-secret-file or RELAY_JWT_SECRET)');
  const timeoutSeconds = Number(values.timeout || env.RELAY_SMOKE_TIMEOUT_SECONDS || 120);
  if (!(timeoutSeconds > 0)) problems.push('timeout must be a positive number of seconds');
  if (problems.length > 0) throw new Error(problems.join('; '));
  return {
    socketUrl: toWebSocketUrl(socketUrl),
    sendUrl: new URL('/v1/messages', sendUrl),
    jwtSecret,
    idToken: readFile(values['id-token-file']) || env.RELAY_ID_TOKEN,
    apiKey: values['api-key'] || env.RELAY_SEND_API_KEY,
    // When the node only admits listed origins, present the first of them.
    origin: values.origin || env.RELAY_ORIGIN || (output('allowed_origins') || [])[0],
    // The aud claim the node requires (Terraform's token_audience); none when empty.
    audience: values.audience ?? env.RELAY_JWT_AUDIENCE ?? output('token_audience') ?? '',
    timeoutMs: timeoutSeconds * 1000,
  };
}

function toWebSocketUrl(raw) {
  const url = new URL(raw);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`not a WebSocket URL: ${raw}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws';
  return url;
}

const base64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT whose subject is the user id, valid for five minutes, for {@code audience} when one is given. */
export function signJwt(userId, secret, nowSeconds = Math.floor(Date.now() / 1000), audience = '') {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = { sub: userId, iat: nowSeconds, exp: nowSeconds + 300 };
  if (audience) body.aud = audience;
  const claims = base64url(JSON.stringify(body));
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${base64url(signature)}`;
}

// Right after a deploy, IAM grants take a minute or two to reach the services (403) and new
// instances may still be starting (429, 502-504): those answers are retried until the deadline.
const RETRYABLE = new Set([403, 429, 502, 503, 504]);

class HttpStatusError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function retrying(deadline, attempt) {
  for (let pause = 500; ; pause = Math.min(pause * 2, 5000)) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof HttpStatusError) || !RETRYABLE.has(e.status) || Date.now() + pause >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function send(cfg, userId, event, data) {
  const body = JSON.stringify({ userId, event, data });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (cfg.idToken) headers.authorization = `Bearer ${cfg.idToken}`;
  if (cfg.apiKey) headers['x-relay-api-key'] = cfg.apiKey;
  const { status, text } = await request(cfg.sendUrl, { method: 'POST', headers }, body);
  if (status !== 202) throw new HttpStatusError(`send answered ${status}: ${text.slice(0, 300)}`, status);
  const id = JSON.parse(text).id;
  if (typeof id !== 'string' || id.length === 0) throw new Error(`send answered 202 without an id: ${text}`);
  return id;
}

function request(url, options, body) {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A minimal RFC 6455 client: the opening handshake, masked client frames, unmasked server frames
 * with fragmentation, ping/pong and close. Text messages are handed to onText(text, connection).
 */
export function openWebSocket(url, { headers = {}, onText, onClose }) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const expectedAccept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
    const secure = url.protocol === 'wss:';
    const req = (secure ? https : http).request({
      protocol: secure ? 'https:' : 'http:',
      hostname: url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      headers: {
        ...headers,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': key,
      },
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => reject(new HttpStatusError(
        `handshake refused with HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`,
        res.statusCode)));
    });
    req.on('error', reject);
    req.on('upgrade', (res, socket, head) => {
      if (res.headers['sec-websocket-accept'] !== expectedAccept) {
        socket.destroy();
        reject(new Error('handshake answered with a wrong Sec-WebSocket-Accept'));
        return;
      }
      resolve(new Connection(socket, head, onText, onClose));
    });
    req.end();
  });
}

class Connection {
  constructor(socket, head, onText, onClose) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.fragments = null;
    this.closed = false;
    this.onText = onText;
    this.onClose = onClose || (() => {});
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('close', () => this.finish(1006, 'connection lost'));
    socket.on('error', () => {});
    if (head && head.length > 0) this.receive(head);
  }

  sendText(text) {
    this.writeFrame(0x1, Buffer.from(text, 'utf8'));
  }

  close(code = 1000, reason = 'closed by client') {
    if (this.closed) return;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.writeFrame(0x8, payload);
    this.finish(code, reason);
    this.socket.end();
  }

  writeFrame(opcode, payload) {
    const mask = crypto.randomBytes(4);
    let header;
    if (payload.length < 126) {
      header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i % 4];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const fin = (this.buffer[0] & 0x80) !== 0;
      const opcode = this.buffer[0] & 0x0f;
      if ((this.buffer[1] & 0x80) !== 0) return this.fail(1002, 'server frames must not be masked');
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      this.frame(fin, opcode, Buffer.from(payload));
      if (this.closed) return;
    }
  }

  frame(fin, opcode, payload) {
    switch (opcode) {
      case 0x0: // continuation
        if (!this.fragments) return this.fail(1002, 'continuation without a first fragment');
        this.fragments.push(payload);
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = null;
          this.onText(text, this);
        }
        return;
      case 0x1: // text
        if (this.fragments) return this.fail(1002, 'new message inside a fragmented one');
        if (fin) this.onText(payload.toString('utf8'), this);
        else this.fragments = [payload];
        return;
      case 0x2:
        return this.fail(1003, 'binary frames are not part of the protocol');
      case 0x8: { // close
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.subarray(2).toString('utf8');
        if (!this.closed) {
          this.writeFrame(0x8, payload.subarray(0, Math.min(2, payload.length)));
          this.socket.end();
        }
        return this.finish(code, reason);
      }
      case 0x9: // ping
        return this.writeFrame(0xa, payload);
      case 0xa: // pong
        return;
      default:
        return this.fail(1002, `unknown opcode ${opcode}`);
    }
  }

  fail(code, reason) {
    this.close(code, reason);
  }

  finish(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.onClose(code, reason);
  }
}

async function run(cfg) {
  const started = Date.now();
  const deadline = started + cfg.timeoutMs;
  const userId = `smoke-${crypto.randomUUID()}`;
  const nonce = crypto.randomUUID();
  const expected = new Set();
  const received = new Set();
  let established = null;
  let conn = null;

  let settle;
  const done = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {}); // observed below; a failure while a request is in flight must not crash
  const step = (promise) => Promise.race([promise, done]);
  const timer = setTimeout(() => settle.reject(new Error(
    `timed out after ${cfg.timeoutMs / 1000}s: established=${established !== null}, ` +
      `expected ${[...expected].join(',')}, received ${[...received].join(',')}`)), cfg.timeoutMs);
  const check = () => {
    if (established && expected.size === 2 && [...expected].every((id) => received.has(id))) settle.resolve();
  };

  try {
    // 1. A message for a user who has no socket yet: it must wait, not be lost.
    expected.add(await step(retrying(deadline, () => send(cfg, userId, 'smoke_test', { nonce, step: 'before_connect' }))));

    // 2. Connect as that user.
    // A bearer header keeps the token out of request logs (browsers, which cannot set headers,
    // use the access_token query parameter instead).
    const token = signJwt(userId, cfg.jwtSecret, undefined, cfg.audience);
    const url = new URL(cfg.socketUrl);
    const headers = { authorization: `Bearer ${token}` };
    if (cfg.origin) headers.origin = cfg.origin;
    conn = await step(retrying(deadline, () => openWebSocket(url, {
      headers,
      onText: (text, socket) => {
        let frame;
        try {
          frame = JSON.parse(text);
        } catch (e) {
          settle.reject(new Error(`frame is not JSON: ${text.slice(0, 200)}`));
          return;
        }
        if (frame.type === 'connection_established') {
          if (frame.userId !== userId) {
            settle.reject(new Error(`connection_established for ${frame.userId}, expected ${userId}`));
            return;
          }
          established = frame;
        } else if (frame.type === 'message') {
          if (!established) {
            settle.reject(new Error('a message arrived before connection_established'));
            return;
          }
          socket.sendText(JSON.stringify({ type: 'ack', id: frame.id }));
          received.add(frame.id);
        } else if (frame.type === 'error') {
          settle.reject(new Error(`server sent error ${frame.code}: ${frame.message}`));
          return;
        }
        check();
      },
      onClose: (code, reason) => settle.reject(new Error(`socket closed early with ${code} ${reason}`)),
    })));

    // 3. A message while connected.
    expected.add(await step(retrying(deadline, () => send(cfg, userId, 'smoke_test', { nonce, step: 'while_connected' }))));
    check();
    await done;
    return { ok: true, userId, nodeId: established.nodeId, ids: [...expected], millis: Date.now() - started };
  } finally {
    clearTimeout(timer);
    if (conn) {
      conn.onClose = () => {};
      conn.close(1000);
    }
  }
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
if (isMain) {
  let cfg;
  try {
    cfg = settings(process.argv.slice(2), process.env);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: e.message })}\n`);
    process.exit(2);
  }
  run(cfg).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (e) => {
      process.stdout.write(`${JSON.stringify({ ok: false, error: e.message })}\n`);
      process.exit(1);
    },
  );
}
