// Runs one folder of tests with Node's test runner. Node 20 has a WebSocket client only behind
// --experimental-websocket; pass it there so the real-socket test runs instead of skipping.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const folder = process.argv[2] ?? 'test/unit';
const files = readdirSync(folder).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(folder, f));
if (files.length === 0) {
  console.error(`no *.test.js in ${folder}`);
  process.exit(1);
}
const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];
const result = spawnSync(process.execPath, [...flags, '--test', '--test-reporter=spec', ...process.argv.slice(3), ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
