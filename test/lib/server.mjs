// Black-box harness for the colachat binary: start it on a free loopback port with a fresh
// SQLite file, talk to it over real HTTP and the stock socket.io-client, and kill whatever was
// started when the test file ends (call cleanup() from an `after` hook).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

export const DEFAULT_BIN = path.join(repoRoot, 'bin', 'colachat');
export const ALLOWED_ORIGIN = 'http://localhost:3000';

const HEALTH_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_LIMIT = 64 * 1024;

// Everything started by this module in this process, so cleanup() and the exit hook can end it.
const liveServers = new Set();
const liveSockets = new Set();
const tempDirs = new Set();

// A test file that forgets `after(cleanup)` must not hang on a running server.
after(() => cleanup());

process.on('exit', () => {
  for (const s of liveServers) {
    try { s.proc?.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

const handedOutPorts = new Set();

/**
 * A free TCP port on 127.0.0.1 (the kernel picks it; we release it right away). A port is
 * handed out once per process, so servers started in parallel never get the same one.
 */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (!handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `colachat serve` and waits for GET /healthz to answer 200.
 *
 * identity: 'compat' (default here, the original client's mode) or 'strict'.
 * Durations use Go syntax ("2s", "500ms"). An option left undefined is not passed, so the
 * binary's default applies (roomTtl undefined = the default 1 day); leaveGrace defaults to 1s.
 */
export async function startServer(options = {}) {
  const {
    identity = 'compat',
    locale,
    roomTtl,
    leaveGrace = '1s',
    retention,
    recoveryWindow,
    rateLimitExempt = '127.0.0.0/8', // null: loopback is rate-limited like anyone
    // Per-connection limits are not covered by the exemption; tests send fast, so they are off
    // unless asked for (null: the binary's default).
    messageRate = 'off',
    joinRate = 'off',
    extraArgs = [],
    env = {},
    bin = process.env.COLACHAT_BIN || DEFAULT_BIN,
  } = options;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'colachat-contract-'));
  tempDirs.add(dir);
  const dbPath = path.join(dir, 'colachat.db');

  const args = [
    'serve',
    '--addr', 'ADDR',
    '--database-url', `sqlite://${dbPath}`,
    '--identity', identity,
    '--cors-origins', ALLOWED_ORIGIN,
  ];
  if (rateLimitExempt !== null) args.push('--rate-limit-exempt', rateLimitExempt);
  if (messageRate !== null) args.push('--message-rate', messageRate);
  if (joinRate !== null) args.push('--join-rate', joinRate);
  if (locale !== undefined) args.push('--locale', locale);
  if (roomTtl !== undefined) args.push('--room-ttl', roomTtl);
  if (leaveGrace !== undefined) args.push('--leave-grace', leaveGrace);
  if (retention !== undefined) args.push('--retention', retention);
  if (recoveryWindow !== undefined) args.push('--recovery-window', recoveryWindow);
  args.push(...extraArgs);

  const server = {
    url: '',
    port: 0,
    dbPath,
    dir,
    args,
    proc: null,
    log: '',
    exited: null, // promise resolved with {code, signal} when the current process exits
    /** SIGTERM and wait for the exit (SIGKILL if it hangs). */
    async stop() {
      await endProcess(server, 'SIGTERM');
    },
    /** SIGKILL: a crash, no graceful shutdown. */
    async kill9() {
      await endProcess(server, 'SIGKILL');
    },
    /** Stops (gracefully) if running, then starts again on the same port and database. */
    async restart() {
      if (server.proc) await server.stop();
      await launch(server, bin, env);
    },
  };
  liveServers.add(server);
  // Another process may grab the port between freePort() and the bind: retry on a new one.
  for (let attempt = 1; ; attempt++) {
    server.port = await freePort();
    server.url = `http://127.0.0.1:${server.port}`;
    args[args.indexOf('--addr') + 1] = `127.0.0.1:${server.port}`;
    try {
      await launch(server, bin, env);
      return server;
    } catch (err) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(server.log)) throw err;
      server.log = '';
    }
  }
}

async function launch(server, bin, env) {
  const proc = spawn(bin, server.args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.proc = proc;
  const append = (chunk) => {
    server.log += chunk.toString();
    if (server.log.length > LOG_LIMIT) server.log = server.log.slice(-LOG_LIMIT);
    if (process.env.COLACHAT_TEST_LOG) process.stderr.write(chunk);
  };
  proc.stdout.on('data', append);
  proc.stderr.on('data', append);
  let spawnError = null;
  server.exited = new Promise((resolve) => {
    proc.on('error', (err) => {
      spawnError = err;
      resolve({ code: null, signal: null, error: err });
    });
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  server.exited.then(() => {
    if (server.proc === proc) server.proc = null;
  });

  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      throw new Error(`cannot start ${bin}: ${spawnError.message} ` +
        '(build it with `make build` or set COLACHAT_BIN)');
    }
    if (server.proc !== proc) {
      const how = await server.exited;
      throw new Error(`colachat exited before it was healthy (code ${how.code}, signal ${how.signal})\n` +
        `args: ${server.args.join(' ')}\n--- server output ---\n${server.log}`);
    }
    try {
      const res = await rawRequest(server.url, 'GET', '/healthz', undefined, {}, 1000);
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`colachat did not answer GET /healthz with 200 within ${HEALTH_TIMEOUT_MS} ms\n` +
        `args: ${server.args.join(' ')}\n--- server output ---\n${server.log}`);
    }
    await sleep(100);
  }
}

async function endProcess(server, signal) {
  const proc = server.proc;
  if (!proc) return;
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await server.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Disconnects every socket and kills every server this file started. Use in `after`. */
export async function cleanup() {
  for (const s of liveSockets) {
    try { s.disconnect(); } catch { /* ignore */ }
  }
  liveSockets.clear();
  const stops = [];
  for (const s of liveServers) stops.push(s.kill9().catch(() => {}));
  await Promise.all(stops);
  liveServers.clear();
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
  tempDirs.clear();
}

// ---------------------------------------------------------------------------------------------
// REST

function rawRequest(baseUrl, method, pathname, body, headers = {}, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const target = new URL(pathname, baseUrl);
    const req = http.request(target, { method, headers, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try { parsed = text === '' ? undefined : JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * One REST call the way the original client makes it: Content-Type: application/json on every
 * request. body: an object (JSON-encoded), a string or Buffer (sent verbatim), or undefined.
 * Returns {status, body (parsed JSON or undefined), text, headers}.
 */
export function api(url, method, pathname, body, headers = {}) {
  let payload;
  if (body === undefined) payload = undefined;
  else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
  else payload = JSON.stringify(body);
  const h = { 'Content-Type': 'application/json', ...headers };
  if (payload !== undefined) h['Content-Length'] = Buffer.byteLength(payload);
  return rawRequest(url, method, pathname, payload, h);
}

/** Authorization header for a chatter token (strict identity). */
export const bearer = (token) => (token ? { Authorization: `Bearer ${token}` } : {});

/** POST /chat/rooms with sensible defaults; throws unless 201 + success. Returns the Room. */
export async function createRoom(url, overrides = {}) {
  const body = {
    namespace: 'anonymous',
    title: '테스트 방',
    capacity: 4,
    isPassword: false,
    ...overrides,
  };
  if (overrides.password !== undefined && overrides.isPassword === undefined) body.isPassword = true;
  const res = await api(url, 'POST', '/chat/rooms', body);
  if (res.status !== 201 || !res.body?.success) {
    throw new Error(`createRoom failed: ${res.status} ${res.text}`);
  }
  return res.body.data;
}

/** GET /chat/messages/:roomId/:page/:chatterId[?query], with the chatter's token if given. */
export function history(url, roomId, chatterId, { page = 1, token, query } = {}) {
  let p = `/chat/messages/${encodeURIComponent(roomId)}/${page}`;
  if (chatterId !== undefined) p += `/${encodeURIComponent(chatterId)}`;
  if (query) p += `?${new URLSearchParams(query)}`;
  return api(url, 'GET', p, undefined, bearer(token));
}

/**
 * Reads a chatter's whole visible history, oldest first, walking back with the ?before cursor
 * from the newest message (the walk forward with ?after is what cursor.test.mjs checks).
 */
export async function fullHistory(url, roomId, chatterId, token, limit = 100) {
  const out = [];
  let query = { limit };
  for (;;) {
    const res = await history(url, roomId, chatterId, { token, query });
    if (res.status !== 200 || !res.body?.success) {
      throw new Error(`history failed: ${res.status} ${res.text}`);
    }
    const batch = res.body.data;
    if (batch.length === 0) return out;
    out.unshift(...batch);
    query = { before: batch[0].id, limit };
  }
}

// ---------------------------------------------------------------------------------------------
// Socket.IO

/**
 * Connects a fresh socket.io-client Manager to `${url}/${namespace}` and waits for "connect".
 * Defaults as the original client: transports ['websocket']; reconnection is off unless asked.
 * Every incoming event is recorded in socket.log ({event, args}) from the start, so a test can
 * wait for an event that may already have arrived (see waitFor).
 */
export function connect(url, namespace = 'anonymous', opts = {}) {
  const socket = io(`${url}/${namespace}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...opts,
    autoConnect: false,
  });
  record(socket);
  liveSockets.add(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanupListeners();
      socket.disconnect();
      reject(new Error(`connect to /${namespace} timed out`));
    }, 7000);
    const onConnect = () => { cleanupListeners(); resolve(socket); };
    const onError = (err) => {
      if (socket.io.opts.reconnection && socket.active) return; // it will retry
      cleanupListeners();
      reject(new Error(`connect to /${namespace} failed: ${err?.message ?? err}`));
    };
    function cleanupListeners() {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

/** Starts recording every incoming event of socket into socket.log and notifies waiters. */
function record(socket) {
  if (socket.log) return;
  socket.log = [];
  socket.waiters = new Set();
  socket.onAny((event, ...args) => {
    const entry = { event, args };
    socket.log.push(entry);
    for (const w of [...socket.waiters]) w(entry, socket.log.length - 1);
  });
}

/** The current length of socket.log: pass it as `since` to wait only for later events. */
export const mark = (socket) => socket.log.length;

/** Payloads (first argument) of every recorded `event`, optionally from index `since` on. */
export function received(socket, event, since = 0) {
  return socket.log.slice(since).filter((e) => e.event === event).map((e) => e.args[0]);
}

/**
 * Resolves with the first argument of the first `event` (recorded at index >= since) for which
 * predicate(payload, args) is true; includes events that arrived before the call.
 * opts: a timeout in ms, or {timeout, since}.
 */
export function waitFor(socket, event, predicate = () => true, opts = {}) {
  const { timeout = 5000, since = 0 } = typeof opts === 'number' ? { timeout: opts } : opts;
  record(socket); // a socket not made by connect() is recorded from now on
  for (let i = since; i < socket.log.length; i++) {
    const e = socket.log[i];
    if (e.event === event && predicate(e.args[0], e.args)) return Promise.resolve(e.args[0]);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.waiters.delete(waiter);
      reject(new Error(`no "${event}" event matching ${predicate.toString().slice(0, 200)} within ${timeout} ms; ` +
        `got: ${JSON.stringify(socket.log.slice(since).map((e) => [e.event, e.args[0]])).slice(0, 2000)}`));
    }, timeout);
    const waiter = (e, index) => {
      if (index < since || e.event !== event || !predicate(e.args[0], e.args)) return;
      clearTimeout(timer);
      socket.waiters.delete(waiter);
      resolve(e.args[0]);
    };
    socket.waiters.add(waiter);
  });
}

/** Emits `event` (with `payload` unless undefined) and resolves with the ack's first argument. */
export async function emitAck(socket, event, payload, timeoutMs = 5000) {
  try {
    if (payload === undefined) return await socket.timeout(timeoutMs).emitWithAck(event);
    return await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch (err) {
    throw new Error(`no ack for "${event}" ${JSON.stringify(payload)?.slice(0, 200)} within ${timeoutMs} ms ` +
      `(${err.message})`);
  }
}

/**
 * Emits an event expected to fail and returns {ack, messageEvent}: the ack envelope and the
 * parsed JSON string of the `message` event the server also emits for a failure.
 */
export async function emitExpectingError(socket, event, payload, timeoutMs = 5000) {
  const since = mark(socket);
  const ack = await emitAck(socket, event, payload, timeoutMs);
  let messageEvent = null;
  if (ack && ack.success === false) {
    // The event for this failure: a later one than `since` with the same code (a late event
    // from an earlier failure must not be taken for it).
    const sameCode = (raw) => {
      if (typeof raw !== 'string') return true; // reported as a shape error below
      try { return JSON.parse(raw).code === ack.code; } catch { return true; }
    };
    const raw = await waitFor(socket, 'message', sameCode, { timeout: timeoutMs, since });
    try {
      messageEvent = typeof raw === 'string' ? JSON.parse(raw) : { notAString: raw };
    } catch {
      messageEvent = { notJSON: raw };
    }
  }
  return { ack, messageEvent };
}

/**
 * Connects and joins a room. Returns {socket, ack, chatter, token}; throws if the join fails.
 * join: {chatterId, token, password, ticket} go into the joinRoom payload when given.
 */
export async function joinRoom(url, roomId, join = {}, { namespace = 'anonymous', socketOpts = {} } = {}) {
  const socket = await connect(url, namespace, socketOpts);
  const ack = await emitJoin(socket, roomId, join);
  if (!ack?.success) throw new Error(`joinRoom failed: ${JSON.stringify(ack)}`);
  return { socket, ack, chatter: ack.data, token: ack.data.token };
}

/** Emits joinRoom on an existing socket with the given identity fields; resolves with the ack. */
export function emitJoin(socket, roomId, { chatterId = null, token, password, ticket } = {}) {
  const payload = { roomId, chatterId };
  if (token !== undefined) payload.token = token;
  if (password !== undefined) payload.password = password;
  if (ticket !== undefined) payload.ticket = ticket;
  return emitAck(socket, 'joinRoom', payload);
}

/** Sends a chat message and returns the ack (does not check it). */
export function say(socket, roomId, content) {
  return emitAck(socket, 'sendMessage', { roomId, content });
}

/** Disconnects and resolves once the client saw its own disconnect. */
export function disconnect(socket) {
  liveSockets.delete(socket);
  if (!socket.connected) {
    socket.disconnect();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    socket.once('disconnect', () => resolve());
    socket.disconnect();
  });
}
