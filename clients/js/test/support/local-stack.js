// The whole relay on this machine, started with the README's `scripts/run-local.sh` on free ports.
// stop() sends SIGTERM to the script (which stops exactly what it started) and waits for it.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const PORTS = ['PUBSUB_PORT', 'FIRESTORE_PORT', 'SEND_PORT', 'ROUTE_PORT', 'NODE1_PORT', 'NODE2_PORT'];

async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Polls an async condition until it holds; no fixed sleeps beyond the poll interval. */
export async function waitUntil(condition, { timeoutMs, what, intervalMs = 100 }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

export class LocalStack {
  #child;
  #exited;
  #output = [];

  constructor(root, logDir, ports, child) {
    this.root = root;
    this.logDir = logDir;
    this.ports = ports;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start({ root, logDir, readyTimeoutMs = 240_000, env = {} }) {
    mkdirSync(logDir, { recursive: true });
    const ports = Object.fromEntries((await freePorts(PORTS.length)).map((port, i) => [PORTS[i], port]));
    const child = spawn('bash', [join(root, 'scripts/run-local.sh')], {
      cwd: root,
      env: { ...process.env, ...env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), RELAY_LOG_DIR: logDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stack = new LocalStack(root, logDir, ports, child);
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the local stack was not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      const lines = (stream) => {
        let rest = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
          const parts = (rest + chunk).split('\n');
          rest = parts.pop();
          for (const line of parts) {
            stack.#output.push(line);
            if (line.startsWith('relay ready:')) {
              clearTimeout(timer);
              resolve();
            }
          }
        });
      };
      lines(child.stdout);
      lines(child.stderr);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`run-local.sh exited (${signal ?? code}) before it was ready`));
      });
    });
    try {
      await ready;
    } catch (error) {
      await stack.stop();
      throw new Error(`${error.message}\n${stack.output}\nlogs in ${logDir}`);
    }
    return stack;
  }

  get output() {
    return this.#output.join('\n');
  }

  get sendUrl() {
    return `http://127.0.0.1:${this.ports.SEND_PORT}`;
  }

  nodeUrl(n) {
    return `http://127.0.0.1:${this.ports[`NODE${n}_PORT`]}`;
  }

  socketUrl(n) {
    return `ws://127.0.0.1:${this.ports[`NODE${n}_PORT`]}/ws`;
  }

  /** The process id of one part, from the pid file the script writes (socket-node-1, send-function, …). */
  pid(name) {
    return Number(readFileSync(join(this.logDir, `${name}.pid`), 'utf8').trim());
  }

  log(name) {
    try {
      return readFileSync(join(this.logDir, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  get running() {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async devToken(node, userId) {
    const answer = await fetch(`${this.nodeUrl(node)}/dev/token?userId=${encodeURIComponent(userId)}`);
    if (!answer.ok) throw new Error(`dev token from node ${node}: ${answer.status} ${await answer.text()}`);
    return (await answer.json()).token;
  }

  async send(body) {
    const answer = await fetch(`${this.sendUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: answer.status, body: await answer.json().catch(() => null) };
  }

  async online(userId) {
    const answer = await fetch(`${this.sendUrl}/v1/users/${encodeURIComponent(userId)}/presence`);
    if (!answer.ok) throw new Error(`presence: ${answer.status}`);
    return (await answer.json()).online;
  }

  /** SIGTERM to the script, then wait for it; it stops what it started, each part by process id. */
  async stop({ timeoutMs = 120_000 } = {}) {
    if (this.running) this.#child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    const result = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (result === null) {
      this.#child.kill('SIGKILL');
      throw new Error(`run-local.sh did not stop within ${timeoutMs} ms; logs in ${this.logDir}`);
    }
    return result;
  }
}
