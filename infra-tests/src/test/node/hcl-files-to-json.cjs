'use strict';
// Prints HCL files (.tfvars, backend .hcl) as JSON, one entry per file name:
//   { "staging.tfvars": { "environment": "staging", ... }, ... }
// Usage: NODE_PATH=<dir with node_modules> node hcl-files-to-json.cjs <file>...
const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('@cdktf/hcl2json');

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    throw new Error('usage: hcl-files-to-json.cjs <file>...');
  }
  const out = {};
  for (const file of files) {
    out[path.basename(file)] = await parse(path.basename(file), fs.readFileSync(file, 'utf8'));
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
