// The browser test drives Debian's chromium. Where it is missing, install it (as root, with apt-get),
// so the test command works on a fresh machine; elsewhere say what to install.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(chromium)) process.exit(0);
if (process.env.CHROMIUM_PATH) {
  console.error(`CHROMIUM_PATH=${chromium} does not exist`);
  process.exit(1);
}
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.error(`${chromium} is missing; install it with: sudo apt-get install -y chromium`);
  process.exit(1);
}
const run = (...args) => {
  console.log(`$ ${args.join(' ')}`);
  const result = spawnSync(args[0], args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    console.error(`${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
    process.exit(1);
  }
};
console.log(`${chromium} is missing: installing Debian's chromium`);
run('apt-get', 'update');
run('apt-get', 'install', '-y', 'chromium');
if (!existsSync(chromium)) {
  console.error(`apt-get installed chromium, but ${chromium} is still missing`);
  process.exit(1);
}
