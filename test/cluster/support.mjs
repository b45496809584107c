// Cluster test support: this file's own redis-server (so a test can kill and restart it), a
// fresh PostgreSQL database per test file, and colachat nodes that share them. Everything is
// on loopback; only processes started here are ended, each by its own handle.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { api, freePort, sleep, startServer } from '../lib/server.mjs';

const REDIS_BIN = process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server';
const PG = {
  host: process.env.PGHOST_TEST || '127.0.0.1',
  port: process.env.PGPORT_TEST || '5432',
  user: process.env.PGUSER_TEST || 'postgres',
  adminDb: process.env.PGDATABASE_TEST || 'test',
};

// Every redis-server started here, so a crashed test run does not leave one behind.
const liveRedis = new Set();
process.on('exit', () => {
  for (const r of liveRedis) {
    try { r.proc?.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** Sends one inline command to a Redis on port and resolves with its first reply line. */
export function redisCommand(port, command, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${command} timed out`)); }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      const end = buf.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.slice(0, end));
      }
    });
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/**
 * Starts a redis-server of this test file on a free loopback port, without persistence
 * (colachat keeps only presence and pub/sub there). Returns {port, url, kill9(), start(), stop()}.
 */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'colachat-redis-'));
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    proc: null,
    log: '',
    exited: null,
    /** Starts (again) on the same port and waits for PONG. */
    async start() {
      const proc = spawn(REDIS_BIN, [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--daemonize', 'no',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      redis.proc = proc;
      const append = (c) => { redis.log = (redis.log + c.toString()).slice(-16_384); };
      proc.stdout.on('data', append);
      proc.stderr.on('data', append);
      redis.exited = new Promise((resolve) => {
        proc.on('error', (err) => resolve({ error: err }));
        proc.on('exit', (code, signal) => resolve({ code, signal }));
      });
      redis.exited.then(() => { if (redis.proc === proc) redis.proc = null; });
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (redis.proc !== proc) {
          const how = await redis.exited;
          throw new Error(`redis-server exited at start (${JSON.stringify(how)})\n${redis.log}`);
        }
        try {
          if ((await redisCommand(port, 'PING')) === '+PONG') return;
        } catch { /* not listening yet */ }
        if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s\n${redis.log}`);
        await sleep(50);
      }
    },
    /** SIGKILL, as a crash; resolves once the process is gone. */
    async kill9() {
      const proc = redis.proc;
      if (!proc) return;
      proc.kill('SIGKILL');
      await redis.exited;
    },
    async stop() {
      await redis.kill9();
      liveRedis.delete(redis);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  liveRedis.add(redis);
  await redis.start();
  return redis;
}

/** Runs one SQL statement with psql (trust auth on loopback); resolves with its unaligned output. */
export function psql(database, sql) {
  return new Promise((resolve, reject) => {
    execFile('psql', [
      '-h', PG.host, '-p', PG.port, '-U', PG.user, '-d', database,
      '-v', 'ON_ERROR_STOP=1', '-X', '-A', '-t', '-c', sql,
    ], { env: { ...process.env, PGCONNECT_TIMEOUT: '5' }, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql -d ${database} -c ${JSON.stringify(sql)} failed: ${stderr || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Creates a fresh database; returns {name, url, drop()}. */
export async function createDatabase(prefix = 'colachat_cluster') {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await psql(PG.adminDb, `CREATE DATABASE ${name}`);
  return {
    name,
    url: `postgres://${PG.user}@${PG.host}:${PG.port}/${name}?sslmode=disable`,
    /** Drops it, closing whatever connections are left (nodes are killed before this). */
    async drop() {
      await psql(PG.adminDb, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A ticket key shared by every node of one cluster (access-check tickets work on any node). */
export const newTicketKey = () => randomBytes(32).toString('hex');

/**
 * Starts `count` colachat nodes sharing database and Redis. The --database-url given here comes
 * after the harness's SQLite one, and Go's flag package keeps the last value.
 * options: {count, db, redis, ticketKey, names, identity, roomTtl, recoveryWindow, extraArgs}.
 * Waits for every node's /readyz to answer 200 (store and Redis reachable).
 */
export async function startNodes(options) {
  const {
    count, db, redis, ticketKey = newTicketKey(), names, identity = 'strict', roomTtl,
    recoveryWindow = '30s', extraArgs = [],
  } = options;
  const starts = [];
  for (let i = 0; i < count; i++) {
    const nodeId = names?.[i] ?? `node-${i + 1}-${randomBytes(3).toString('hex')}`;
    starts.push(startServer({
      identity,
      roomTtl,
      recoveryWindow,
      extraArgs: [
        '--database-url', db.url,
        '--redis-url', redis.url,
        '--node-id', nodeId,
        '--ticket-key', ticketKey,
        ...extraArgs,
      ],
    }).then((srv) => Object.assign(srv, { nodeId })));
  }
  // Migrations run under an advisory lock, so starting the nodes together is itself a test.
  const nodes = await Promise.all(starts);
  for (const n of nodes) {
    await waitForStatus(n.url, '/readyz', 200, 10_000, `${n.nodeId} ready`);
  }
  return nodes;
}

/**
 * Polls GET pathname until it answers `status`; throws with the last answer seen after
 * timeoutMs. Resolves with the matching response.
 */
export async function waitForStatus(url, pathname, status, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await api(url, 'GET', pathname);
      if (res.status === status) return res;
      last = `${res.status} ${res.text.slice(0, 300)}`;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: GET ${url}${pathname} got ${last}, want ${status} within ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}

/**
 * Polls `probe` (an async function) until it returns a truthy value; throws `message()` (called
 * with the last value) after timeoutMs.
 */
export async function eventually(probe, timeoutMs, message, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message(value));
    await sleep(everyMs);
  }
}

const PG_BIN = process.env.PG_BIN_DIR || (() => {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin` : '';
  } catch { return ''; }
})();

/** Runs a PostgreSQL server program, as the postgres user when this process is root. */
function pgRun(program, args) {
  const [cmd, argv] = process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, program), ...args]]
    : [path.join(PG_BIN, program), args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(' ')} failed: ${stderr || stdout || err.message}`));
      else resolve(stdout);
    });
  });
}

// Every PostgreSQL started here, so a crashed test run does not leave one behind.
const livePostgres = new Set();
process.on('exit', () => {
  for (const pg of livePostgres) {
    try { execFileSync('pkill', ['-KILL', '-f', `-D ${pg.data}`]); } catch { /* already gone */ }
  }
});

/**
 * Starts a PostgreSQL server of this test file on a free loopback port (its own data directory,
 * trust auth, fsync off: it is thrown away), with one database `colachat`. Returns
 * {port, url, stop(), start(), remove()}; stop and start keep the data, as a restart does.
 */
export async function startPostgres() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'colachat-pg-'));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const pg = {
    port,
    data,
    url: `postgres://postgres@127.0.0.1:${port}/colachat?sslmode=disable&connect_timeout=2`,
    async start() {
      await pgRun('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    },
    /** A fast shutdown: clients are disconnected at once, as in a restart. */
    async stop() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async remove() {
      try { await pg.stop(); } catch { /* not running */ }
      livePostgres.delete(pg);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  livePostgres.add(pg);
  await pg.start();
  await new Promise((resolve, reject) => {
    execFile('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', '-c', 'CREATE DATABASE colachat'],
      { timeout: 15_000 }, (err, _out, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve()));
  });
  return pg;
}
