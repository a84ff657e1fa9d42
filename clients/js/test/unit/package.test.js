import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as library from '../../relay-client.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

test('package.json is ready to publish: an ES module with types, every named file there', () => {
  assert.equal(pkg.type, 'module');
  assert.match(pkg.engines.node, />=\s*20/);
  assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies');
  const targets = [pkg.main, pkg.types, pkg.exports['.'].default, pkg.exports['.'].types, ...pkg.files];
  for (const file of targets) assert.ok(existsSync(join(dir, file)), `${file} exists`);
  assert.ok(pkg.files.includes('relay-client.js') && pkg.files.includes('relay-client.d.ts'));
});

test('the module imports nothing, and the declarations cover every export', () => {
  const source = readFileSync(join(dir, 'relay-client.js'), 'utf8');
  assert.doesNotMatch(source, /^\s*import\s/m);
  assert.doesNotMatch(source, /\brequire\(/);
  const declarations = readFileSync(join(dir, 'relay-client.d.ts'), 'utf8');
  for (const name of Object.keys(library)) {
    assert.match(declarations, new RegExp(`export declare (const|function|class) ${name}\\b`), `${name} declared`);
  }
});
