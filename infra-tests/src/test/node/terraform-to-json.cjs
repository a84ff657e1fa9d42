'use strict';
// Prints the Terraform configuration in a directory as JSON, one entry per .tf file:
//   { "pubsub.tf": { "resource": { ... } }, ... }
// Expressions stay as strings ("${local.topology.requestsTopic}"); comments are dropped.
// Usage: NODE_PATH=<dir with node_modules> node terraform-to-json.cjs <terraform dir>
const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('@cdktf/hcl2json');

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    throw new Error('usage: terraform-to-json.cjs <terraform dir>');
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  if (files.length === 0) {
    throw new Error(`no .tf files in ${dir}`);
  }
  const out = {};
  for (const file of files) {
    out[file] = await parse(file, fs.readFileSync(path.join(dir, file), 'utf8'));
  }
  process.stdout.write(JSON.stringify(out));
}

main().then(
  // The parser runs Go compiled to WebAssembly, which keeps the event loop alive: leave explicitly.
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
