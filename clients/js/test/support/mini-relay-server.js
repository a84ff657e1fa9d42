// A small RFC 6455 server on loopback that speaks the relay's frames, so the client can be tested
// against a real WebSocket implementation in Node without any package. Text frames, close frames,
// ping/pong; no extensions, no fragmentation (the client sends small single frames).
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function encode(opcode, payload) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

/** One accepted socket, server side. Emits 'frame' (parsed JSON) and 'close' ({ code, reason }). */
class ServerSocket extends EventEmitter {
  #socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  received = [];

  constructor(socket, request) {
    super();
    this.#socket = socket;
    this.url = new URL(request.url, 'http://loopback');
    this.request = request;
    socket.on('data', (chunk) => this.#data(chunk));
    socket.on('close', () => this.#gone(1006, ''));
    socket.on('error', () => {});
  }

  get token() {
    const offered = String(this.request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const bearer = offered.find((p) => p.startsWith('bearer.'));
    return bearer ? bearer.slice('bearer.'.length) : null;
  }

  send(frame) {
    if (!this.#closed) this.#socket.write(encode(0x1, Buffer.from(JSON.stringify(frame))));
    return this;
  }

  close(code, reason = '') {
    if (this.#closed) return;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.#socket.write(encode(0x8, body));
    this.#socket.end();
  }

  /** Resolves with the first received frame that matches, past or future. */
  waitFor(predicate, timeoutMs = 5000) {
    const seen = this.received.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('frame', onFrame);
        reject(new Error('timed out waiting for a client frame'));
      }, timeoutMs);
      const onFrame = (frame) => {
        if (!predicate(frame)) return;
        clearTimeout(timer);
        this.off('frame', onFrame);
        resolve(frame);
      };
      this.on('frame', onFrame);
    });
  }

  #gone(code, reason) {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', { code, reason });
  }

  #data(chunk) {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#buffer.length < 2) return;
      const opcode = this.#buffer[0] & 0x0f;
      const masked = (this.#buffer[1] & 0x80) !== 0;
      let len = this.#buffer[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.#buffer.length < 4) return;
        len = this.#buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.#buffer.length < 10) return;
        len = Number(this.#buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const maskOffset = offset;
      if (masked) offset += 4;
      if (this.#buffer.length < offset + len) return;
      const payload = Buffer.from(this.#buffer.subarray(offset, offset + len));
      if (masked) {
        for (let i = 0; i < len; i++) payload[i] ^= this.#buffer[maskOffset + (i % 4)];
      }
      this.#buffer = this.#buffer.subarray(offset + len);
      this.#frame(opcode, payload);
    }
  }

  #frame(opcode, payload) {
    if (opcode === 0x1) {
      const frame = JSON.parse(payload.toString('utf8'));
      this.received.push(frame);
      this.emit('frame', frame);
    } else if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.subarray(2).toString('utf8');
      if (!this.#closed) this.#socket.write(encode(0x8, payload.subarray(0, 2)));
      this.#socket.end();
      this.#gone(code, reason);
    } else if (opcode === 0x9) {
      this.#socket.write(encode(0xa, payload));
    }
  }
}

/** Listens on 127.0.0.1, a free port; emits 'connection' with a ServerSocket for each handshake at /ws. */
export class MiniRelayServer extends EventEmitter {
  #server = createServer((req, res) => res.writeHead(404).end());
  #sockets = new Set();

  async start() {
    this.#server.on('upgrade', (request, socket) => {
      const key = request.headers['sec-websocket-key'];
      if (!key || !request.url.startsWith('/ws')) {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      const bearer = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
        .find((p) => p.startsWith('bearer.'));
      const protocol = bearer ? `Sec-WebSocket-Protocol: ${bearer}\r\n` : '';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${protocol}\r\n`);
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      this.emit('connection', new ServerSocket(socket, request));
    });
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url() {
    return `ws://127.0.0.1:${this.#server.address().port}/ws`;
  }

  /** Resolves with the next accepted socket. */
  nextConnection(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a connection')), timeoutMs);
      this.once('connection', (socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  }

  async stop() {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
