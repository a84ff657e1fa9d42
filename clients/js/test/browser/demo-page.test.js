// End to end in a real browser: the demo page of node 1, served by the local stack, connects with
// the client library, gets a message sent through the send API, survives a SIGTERM of node 1 by
// reconnecting to node 2, shows the message sent during the gap exactly once, and publishes upstream
// to the example backend, whose echo comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import { LocalStack, processAlive, waitUntil } from '../support/local-stack.js';

const here = dirname(fileURLToPath(import.meta.url));
const moduleDir = resolve(here, '../..');
const root = resolve(process.env.RELAY_REPO_ROOT ?? join(moduleDir, '../..'));
const targetDir = join(moduleDir, 'target');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

async function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('demo page: connect, receive, survive a node drain, get the gap message exactly once, publish and get the echo', { timeout: 600_000 }, async (t) => {
  mkdirSync(targetDir, { recursive: true });
  const stack = await LocalStack.start({ root, logDir: mkdtempSync(join(targetDir, 'stack-')) });
  const profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  let browser = null;
  t.after(async () => {
    // The browser first: a page left open would start reconnecting as the stack goes down.
    try {
      await browser?.close();
      rmSync(profile, { recursive: true, force: true });
    } finally {
      const { code, signal } = await stack.stop();
      t.diagnostic(`local stack stopped (${signal ?? `exit ${code}`}); logs in ${stack.logDir}`);
    }
  });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
  });

  const page = browser.pages()[0] ?? (await browser.newPage());
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const frames = (selector) => page.locator(`#frames li${selector}`);
  const waitForState = (state, nodeId, timeout = 30_000) => page.waitForFunction(
    ([s, n]) => document.querySelector('#state').dataset.state === s && (!n || document.querySelector('#node').textContent === n),
    [state, nodeId], { timeout },
  );

  const user = `browser-${randomUUID().slice(0, 8)}`;
  const urls = [stack.socketUrl(1), stack.socketUrl(2)].join(',');
  await page.goto(`${stack.nodeUrl(1)}/?urls=${encodeURIComponent(urls)}&userId=${user}`);
  await page.waitForFunction(() => document.querySelector('#pageNode').textContent === 'node-1');

  // Connect, the way a person does.
  await page.click('#connect');
  await waitForState('ready', 'node-1');

  // A message through the page's send form (the send function, with CORS for this origin).
  await page.fill('#data', JSON.stringify({ step: 1, text: 'before the drain' }));
  await page.click('#send');
  await page.waitForFunction(() => document.querySelector('#sendResult').textContent.startsWith('202'));
  const firstId = JSON.parse((await page.textContent('#sendResult')).slice(4)).id;
  await frames(`.message[data-id="${firstId}"]`).waitFor({ timeout: 30_000 });

  // Hold the token refresh of the coming reconnect until the gap message has been sent, so the
  // message is sent while the user has no socket anywhere. The token then comes from node 2.
  let tokenAsked;
  const tokenRequested = new Promise((resolve) => { tokenAsked = resolve; });
  let releaseToken;
  const tokenGate = new Promise((resolve) => { releaseToken = resolve; });
  await page.route('**/dev/token?*', async (route) => {
    tokenAsked();
    await tokenGate;
    try {
      const token = await stack.devToken(2, user);
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ token }) });
    } catch {
      await route.abort('connectionrefused').catch(() => {});
    }
  });

  // SIGTERM node 1 by its pid: it closes sockets with 1012 and drains.
  const node1 = stack.pid('socket-node-1');
  process.kill(node1, 'SIGTERM');
  await frames('[data-state="reconnecting"]').filter({ hasText: 'close 1012' }).waitFor({ timeout: 30_000 });
  await within(tokenRequested, 30_000, 'the client to ask for a token');
  await waitUntil(async () => (await stack.online(user)) === false, { timeoutMs: 30_000, what: `${user} offline` });

  const gapId = `gap-${randomUUID()}`;
  const gap = await stack.send({ userId: user, event: 'agent_update', id: gapId, data: { step: 2, text: 'sent during the gap' } });
  assert.equal(gap.status, 202, JSON.stringify(gap.body));
  assert.equal(gap.body.id, gapId);
  releaseToken();

  await waitForState('ready', 'node-2');
  t.diagnostic('reconnected to node-2');
  await frames(`.message[data-id="${gapId}"]`).waitFor({ timeout: 120_000 });
  t.diagnostic('gap message arrived');

  // One more message, after the gap one; once it is shown, a late repeat of the gap message would
  // have been shown too, had the client let it through.
  const after = await stack.send({ userId: user, event: 'agent_update', data: { step: 3, text: 'after the reconnect' } });
  assert.equal(after.status, 202);
  await frames(`.message[data-id="${after.body.id}"]`).waitFor({ timeout: 60_000 });

  assert.equal(await frames(`.message[data-id="${gapId}"]`).count(), 1, 'the gap message exactly once');
  assert.equal(await frames(`.message[data-id="${firstId}"]`).count(), 1, 'the first message exactly once');
  assert.equal(await frames('.message').count(), 3);
  const stats = await page.evaluate(() => window.relayDemo.client.stats);
  t.diagnostic(`client stats: ${JSON.stringify(stats)}`);
  assert.equal(stats.received, 3);
  assert.equal(stats.connects, 2);
  assert.equal(await page.textContent('#node'), 'node-2');

  // Upstream: a publish from the page's box reaches the example backend, which echoes it back.
  await page.fill('#upData', JSON.stringify({ text: 'hello backend', userId: 'someone-else' }));
  await page.click('#publish');
  await page.waitForFunction(() => document.querySelector('#publishResult').textContent.startsWith('accepted '),
    undefined, { timeout: 30_000 });
  const publishId = (await page.textContent('#publishResult')).slice('accepted '.length);
  await frames(`.accepted[data-id="${publishId}"]`).waitFor({ timeout: 5_000 });
  const echo = frames('.message[data-event="echo"]');
  await echo.waitFor({ timeout: 30_000 });
  const echoed = JSON.parse((await echo.textContent()).slice('00:00:00.000  '.length));
  assert.equal(echoed.data.replyTo, publishId);
  assert.equal(echoed.data.echo.text, 'hello backend');
  t.diagnostic('the echo backend answered the page\'s publish');

  await waitUntil(() => !processAlive(node1), { timeoutMs: 30_000, what: 'node 1 to exit after its drain' });
  assert.ok(stack.running, 'the rest of the stack is still up after node 1 left');
  assert.deepEqual(pageErrors, []);

  await page.screenshot({ path: join(targetDir, 'demo-page.png'), fullPage: true });
});
