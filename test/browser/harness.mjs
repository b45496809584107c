// Shared setup for the browser tests: a colachat server on a free loopback port, Debian's
// Chromium driven by playwright-core, people in separate browser contexts, and a bot that
// speaks the protocol with the stock socket.io-client.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const screenshotDir = join(repo, 'docs', 'screenshots');
const wantScreenshots = process.env.SCREENSHOTS === '1';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, proc, output) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`colachat exited with ${proc.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`colachat did not become healthy:\n${output()}`);
}

/**
 * Starts `colachat serve` (COLACHAT_BIN, default bin/colachat). Without the binary the tests
 * run against test/browser/standin.mjs only when COLACHAT_STANDIN=1 says so.
 */
export async function startServer({ roomTtl = '24h', extraArgs = [] } = {}) {
  const bin = process.env.COLACHAT_BIN || join(repo, 'bin', 'colachat');
  if (!existsSync(bin)) {
    if (process.env.COLACHAT_STANDIN !== '1') {
      throw new Error(`colachat binary not found at ${bin}: run \`make build\` (or set COLACHAT_STANDIN=1 to use the stand-in)`);
    }
    const { startStandin } = await import('./standin.mjs');
    return startStandin({ roomTtlMs: parseDuration(roomTtl) });
  }
  const dir = mkdtempSync(join(tmpdir(), 'colachat-browser-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', `sqlite://${join(dir, 'c.db')}`,
    '--identity', 'strict', '--room-ttl', roomTtl, '--rate-limit-exempt', '127.0.0.0/8', ...extraArgs];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  await waitHealthy(url, proc, () => log);
  return {
    url,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function parseDuration(s) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A person: their own browser context (own storage) and one page. */
export async function person(browser, baseURL, { locale = 'ko-KR', viewport = { width: 1200, height: 800 }, mobile = false } = {}) {
  const context = await browser.newContext({
    baseURL,
    locale,
    viewport,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(new Error(m.text()));
  });
  page.on('dialog', (d) => {
    errors.push(new Error(`unexpected dialog: ${d.message()}`));
    void d.dismiss();
  });
  return { context, page, errors };
}

/**
 * Creates a room through the home screen and waits until its creator is inside. here: use
 * the page as it is (going home by the back arrow) instead of loading the home page afresh,
 * so the app and its connection stay the same.
 */
export async function createRoom(page, { title, capacity = 4, password, here = false } = {}) {
  if (!here) await page.goto('/');
  else if ((await page.locator('#room-title').count()) === 0) await page.locator('.room-header a[href="/"]').click();
  await page.locator('#room-title').fill(title);
  await page.locator(`label[for="cap-${capacity}"]`).click();
  if (password) {
    await page.locator('#use-password').check();
    await page.locator('#room-password').fill(password);
  }
  await page.locator('form.form button[type=submit]').click();
  await page.waitForURL(/\/chat\/[^/]+$/);
  await page.locator('#composer-input').waitFor();
  await waitConnected(page);
  return page.url();
}

export async function waitConnected(page) {
  await page.locator('.room-header .status.connected').waitFor();
}

/** Opens a room link and goes through the confirmation (and password) step. */
export async function enterRoom(page, url, { password } = {}) {
  await page.goto(url);
  await page.locator('form.enter').waitFor();
  if (password !== undefined) await page.locator('#enter-password').fill(password);
  await page.locator('form.enter button[type=submit]').click();
  await page.locator('#composer-input').waitFor();
  await waitConnected(page);
}

export async function send(page, text) {
  const input = page.locator('#composer-input');
  await input.fill(text);
  await input.press('Enter');
  await page.locator('.msg.mine .bubble', { hasText: text.split('\n')[0] }).last().waitFor();
}

export async function bubbles(page) {
  return page.locator('.messages .msg .bubble').allTextContents();
}

export async function alerts(page) {
  return page.locator('.messages .alert .alert-text').allTextContents();
}

export async function messageIds(page) {
  return page.locator('.messages > li').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))));
}

export async function shot(page, name) {
  if (!wantScreenshots) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.evaluate(() => document.fonts?.ready);
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

async function api(url, method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json();
}

/** A chatter driven from Node with socket.io-client: for filling rooms and sending many messages. */
export async function bot(url, roomUrl, { password } = {}) {
  const roomId = decodeURIComponent(new URL(roomUrl).pathname.split('/').pop());
  const room = (await api(url, 'GET', `/chat/rooms/${roomId}`)).data;
  const access = await api(url, 'POST', `/chat/rooms/${roomId}/access-check`, password ? { password } : {});
  if (!access.success || !access.data) throw new Error(`bot access-check: ${JSON.stringify(access)}`);
  const socket = io(`${url}/${room.namespace}`, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const emit = (event, payload) =>
    new Promise((resolve, reject) => {
      socket.timeout(10000).emit(event, payload, (err, res) => {
        if (err) reject(err);
        else if (!res?.success) reject(new Error(`${event}: ${JSON.stringify(res)}`));
        else resolve(res.data);
      });
    });
  const me = await emit('joinRoom', { roomId, chatterId: null, ticket: access.ticket, password });
  // The server limits messages per connection; the bot waits its turn instead of failing.
  const say = async (content) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await emit('sendMessage', { roomId, content });
      } catch (err) {
        if (attempt > 50 || !/RATE_LIMITED/.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  return {
    me,
    socket,
    roomId,
    say,
    typing: () => socket.emit('typing', { roomId }),
    close: () => socket.disconnect(),
  };
}

/** Leaves the room from its menu: "채팅방 나가기", then the confirmation's "나가기". */
export async function leaveRoom(page) {
  const menu = page.locator('.menu-btn');
  if (await menu.isVisible()) await menu.click();
  await page.locator('.panel button.danger').click();
  const dialog = page.locator('dialog.confirm[open]');
  await dialog.waitFor();
  await dialog.locator('button[value=leave]').click();
  await page.locator('[data-screen="LEFT"]').waitFor();
}

/**
 * Makes the page believe its tab is hidden (or visible again) and tells it, as a browser
 * does when the person switches tabs: headless Chromium keeps every page visible.
 */
export async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** Every alert a bot's socket receives from now on. */
export function recordAlerts(socket) {
  const got = [];
  socket.on('sendAlert', (m) => got.push(m));
  return got;
}
