// One order per room across a cluster, with the stock socket.io-client 4.8.1: three nodes on one
// PostgreSQL and one Redis, senders on every node at once. Every member sees the room's messages
// once each and in the room's order (seq 1, 2, 3, ... without a hole), the same order as history;
// a client whose transport is cut every 600 ms and that recovers on another node each time ends
// with every message once; the clients of a node killed with kill -9 end the same way on the
// survivors; and a PostgreSQL restarted mid-stream loses nothing acked while it refuses, with a
// clear code, what it could not store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createRoom, disconnect, emitAck, emitJoin, history, joinRoom, sleep, waitFor,
} from '../lib/server.mjs';
import {
  createDatabase, eventually, newTicketKey, startNodes, startPostgres, startRedis, waitForStatus,
} from './support.mjs';

const SENDERS_PER_NODE = 2;
const RATE_PER_SENDER = 40; // messages a second
const SEND_MS = 6000;
const FLAP_EVERY_MS = 600;

let redis;
let db;
let ticketKey;
let nodes;
const removals = [];

before(async () => {
  redis = await startRedis();
  db = await createDatabase('colachat_order');
  ticketKey = newTicketKey();
  nodes = await startNodes({ count: 3, db, redis, ticketKey, names: ['order-1', 'order-2', 'order-3'] });
});

after(async () => {
  await cleanup();
  for (const remove of removals) await remove();
  await db?.drop();
  await redis?.stop();
});

/**
 * A member's view of one room: every sendMessage/sendAlert of the room it received, in arrival
 * order, with whatever it read from history merged in by position.
 */
class View {
  constructor(socket, roomId) {
    this.roomId = roomId;
    this.live = []; // as received, duplicates included
    this.bySeq = new Map();
    const take = (m) => { if (m?.roomId === roomId) this.add(m, true); };
    socket.on('sendMessage', take);
    socket.on('sendAlert', take);
  }

  add(m, live) {
    if (live) this.live.push(m);
    const had = this.bySeq.get(m.seq);
    if (had) assert.equal(had.id, m.id, `position ${m.seq} holds message ${had.id} and ${m.id}`);
    else this.bySeq.set(m.seq, m);
  }

  get lastSeq() { return Math.max(0, ...this.bySeq.keys()); }

  lastId() { return this.bySeq.get(this.lastSeq)?.id ?? 0; }

  /** The merged view, in position order. */
  ordered() { return [...this.bySeq.keys()].sort((a, b) => a - b).map((s) => this.bySeq.get(s)); }

  contents() { return new Set(this.ordered().filter((m) => m.type === 'MESSAGE').map((m) => m.content)); }
}

/** Asserts that messages are positions first..last of the room, each once, in order. */
function assertExact(list, what) {
  const seqs = list.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1] + 1) {
      const at = Math.max(0, i - 3);
      assert.fail(`${what}: position ${seqs[i]} after ${seqs[i - 1]} (a ${seqs[i] <= seqs[i - 1] ? 'repeat or reordering' : 'hole'}) near ${JSON.stringify(seqs.slice(at, i + 3))}`);
    }
  }
  const ids = list.map((m) => m.id);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${what}: ids out of order at ${i}: ${ids[i - 1]}, ${ids[i]}`);
}

/** Reads a chatter's history forward from after (a message id) to the end, with ?after. */
async function historyAfter(url, roomId, member, after) {
  const out = [];
  for (;;) {
    const res = await history(url, roomId, member.chatter.id, { token: member.token, query: { after, limit: 100 } });
    assert.equal(res.status, 200, `history ?after=${after}: ${res.status} ${res.text}`);
    const batch = res.body.data;
    if (batch.length === 0) return out;
    out.push(...batch);
    after = batch[batch.length - 1].id;
  }
}

/**
 * Sends from each member at `rate` a second for `ms`; resolves with the acks:
 * [{content, ok, code}] in sending order per sender.
 */
async function sendFrom(members, roomId, rate, ms, tag) {
  const results = [];
  await Promise.all(members.map(async (m, s) => {
    const pending = [];
    const start = Date.now();
    for (let i = 0; Date.now() - start < ms; i++) {
      const content = `${tag}${s}-${i}`;
      pending.push(emitAck(m.socket, 'sendMessage', { roomId, content }, 10_000)
        .then((ack) => results.push({ content, ok: ack?.success === true, code: ack?.code }))
        .catch((err) => results.push({ content, ok: false, code: `no ack: ${err.message}` })));
      const due = start + ((i + 1) * 1000) / rate;
      await sleep(Math.max(0, due - Date.now()));
    }
    await Promise.all(pending);
  }));
  return results;
}

/** Cuts the socket's transport, waits a moment, and reconnects it to url; resolves with recovered. */
async function flap(socket, url) {
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  socket.io.engine.close();
  await gone;
  await sleep(50 + Math.random() * 150); // a client's reconnection delay
  socket.io.uri = url;
  await new Promise((resolve, reject) => {
    const onError = (err) => { socket.off('connect', onConnect); reject(new Error(`reconnect to ${url}: ${err.message}`)); };
    const onConnect = () => { socket.off('connect_error', onError); resolve(); };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
  return socket.recovered === true;
}

describe('one order per room across three nodes', () => {
  test('steady listeners, a flapping client that recovers on other nodes, and six senders on three nodes', { timeout: 120_000 }, async () => {
    const room = await createRoom(nodes[0].url, { capacity: 16 });
    const listeners = [];
    for (const n of nodes) {
      const l = await joinRoom(n.url, room.id);
      l.view = new View(l.socket, room.id);
      listeners.push(l);
    }
    const flapper = await joinRoom(nodes[0].url, room.id, {}, { socketOpts: { reconnection: false } });
    flapper.view = new View(flapper.socket, room.id);
    const senders = [];
    for (const n of nodes) {
      for (let i = 0; i < SENDERS_PER_NODE; i++) senders.push(await joinRoom(n.url, room.id));
    }
    // Everyone's join alert has reached every listener: from here, the stream is steady.
    const lastJoin = senders[senders.length - 1].chatter.id;
    for (const l of listeners) await waitFor(l.socket, 'sendAlert', (m) => m.chatterId === lastJoin, 10_000);

    let flapping = true;
    const recoveries = [];
    const flapper$ = (async () => {
      for (let k = 1; flapping; k++) {
        await sleep(FLAP_EVERY_MS);
        if (!flapping) break;
        recoveries.push(await flap(flapper.socket, nodes[k % nodes.length].url));
      }
    })();
    const acks = await sendFrom(senders, room.id, RATE_PER_SENDER, SEND_MS, 'm');
    flapping = false;
    await flapper$;

    const failed = acks.filter((a) => !a.ok);
    assert.deepEqual(failed, [], 'every send is acked');
    const acked = acks.map((a) => a.content);
    const expectAll = async (member, what) => eventually(() => {
      const got = member.view.contents();
      return acked.every((c) => got.has(c));
    }, 20_000, () => `${what}: ${acked.filter((c) => !member.view.contents().has(c)).length} acked messages never arrived`);
    for (const [i, l] of listeners.entries()) await expectAll(l, `listener on node ${i + 1}`);
    await expectAll(flapper, 'flapping client');
    await sleep(500); // a late duplicate would show up now

    const reference = new Map(); // position → message id, as the first listener saw it
    for (const [i, l] of listeners.entries()) {
      const what = `listener on node ${i + 1}`;
      assertExact(l.view.live, what); // as received: no repeat, no hole, no reordering
      for (const m of l.view.live) {
        if (!reference.has(m.seq)) reference.set(m.seq, m.id);
        assert.equal(m.id, reference.get(m.seq), `${what}: position ${m.seq} is message ${m.id}, another listener saw ${reference.get(m.seq)}`);
      }
      const order = l.view.live.map((m) => `${m.seq}:${m.id}`);
      const past = await historyAfter(nodes[(i + 1) % nodes.length].url, room.id, l, 0);
      const fromHistory = past.filter((m) => m.seq >= l.view.live[0].seq).map((m) => `${m.seq}:${m.id}`);
      assert.deepEqual(order, fromHistory.slice(0, order.length), `${what}: live order differs from history's`);
    }
    assert.ok(recoveries.length >= 5, `the client flapped ${recoveries.length} times, want at least 5`);
    assert.ok(recoveries.every(Boolean), `every reconnect recovers its session: ${JSON.stringify(recoveries)}`);
    assertExact(flapper.view.live, 'flapping client (every message as received, across its recoveries)');
    for (const s of [...listeners, flapper, ...senders]) await disconnect(s.socket);
  });

  test('a node killed with kill -9 mid-stream: its clients rejoin on the survivors and end with every acked message once and in order', { timeout: 120_000 }, async () => {
    const [victim] = await startNodes({ count: 1, db, redis, ticketKey, names: ['order-doomed'] });
    const room = await createRoom(nodes[0].url, { capacity: 16 });
    const movers = [];
    for (let i = 0; i < 2; i++) {
      const m = await joinRoom(victim.url, room.id, {}, { socketOpts: { reconnection: false } });
      m.view = new View(m.socket, room.id);
      movers.push(m);
    }
    const watcher = await joinRoom(nodes[2].url, room.id);
    watcher.view = new View(watcher.socket, room.id);
    const senders = [await joinRoom(nodes[0].url, room.id), await joinRoom(nodes[1].url, room.id), await joinRoom(victim.url, room.id)];
    for (const m of [...movers, watcher]) await waitFor(m.socket, 'sendAlert', (x) => x.chatterId === senders[2].chatter.id, 10_000);

    const sending = sendFrom(senders, room.id, RATE_PER_SENDER, 4000, 'k');
    await sleep(1500);
    const gone = movers.map((m) => new Promise((resolve) => m.socket.once('disconnect', resolve)));
    await victim.kill9();
    await Promise.all(gone);
    // Each client comes back on a survivor: a fresh session (the dead node saved none), so it
    // rejoins with its token and reads from history what came after the last message it has.
    for (const [i, m] of movers.entries()) {
      const url = nodes[i % 2].url;
      m.socket.io.uri = url;
      await new Promise((resolve, reject) => {
        m.socket.once('connect', resolve);
        m.socket.once('connect_error', reject);
        m.socket.connect();
      });
      m.rejoinedAt = m.view.live.length;
      const ack = await emitJoin(m.socket, room.id, { chatterId: m.chatter.id, token: m.token });
      assert.equal(ack.success, true, `rejoin on a survivor: ${JSON.stringify(ack)}`);
      for (const past of await historyAfter(url, room.id, m, m.view.lastId())) m.view.add(past, false);
    }
    const acks = await sending;
    // Messages sent through the dead node may have been lost before their ack: only the acked
    // ones are owed, and every one of them.
    const acked = acks.filter((a) => a.ok).map((a) => a.content);
    assert.ok(acked.length > 300, `only ${acked.length} sends were acked`);
    for (const [who, m] of [['moved client 1', movers[0]], ['moved client 2', movers[1]], ['the steady member', watcher]]) {
      await eventually(() => acked.every((c) => m.view.contents().has(c)), 20_000, () => {
        const missing = acked.filter((c) => !m.view.contents().has(c));
        const seqs = m.view.ordered().map((x) => x.seq);
        return `${who}: ${missing.length} acked messages never arrived (${missing.slice(0, 8).join(', ')}...); ` +
          `it has positions ${seqs[0]}..${seqs[seqs.length - 1]} (${seqs.length}), ${m.view.live.length} received live`;
      });
    }
    await sleep(500);
    assertExact(watcher.view.live, 'a steady member on a survivor, as received');
    for (const [i, m] of movers.entries()) {
      assertExact(m.view.ordered(), `moved client ${i + 1}: what it had, history and live together`);
      const afterRejoin = m.view.live.slice(m.rejoinedAt);
      assert.ok(afterRejoin.length > 0, `moved client ${i + 1} got nothing live after it rejoined`);
      assertExact(afterRejoin, `moved client ${i + 1}: live after its rejoin`);
    }
    for (const s of [...movers, watcher, ...senders]) await disconnect(s.socket);
  });

  test('PostgreSQL restarted mid-stream: sends in the outage are refused with UNAVAILABLE and never acked, nothing acked is lost, readyz says so, and the nodes recover by themselves', { timeout: 120_000 }, async () => {
    const pg = await startPostgres();
    removals.push(() => pg.remove());
    const [p1, p2] = await startNodes({ count: 2, db: pg, redis, ticketKey, names: ['pg-1', 'pg-2'] });
    const room = await createRoom(p1.url, { capacity: 8 });
    const sender = await joinRoom(p1.url, room.id);
    const listener = await joinRoom(p2.url, room.id);
    listener.view = new View(listener.socket, room.id);
    await waitFor(listener.socket, 'sendAlert', (m) => m.chatterId === listener.chatter.id);

    const sending = sendFrom([sender], room.id, 20, 9000, 'p');
    await sleep(2000);
    await pg.stop();
    for (const n of [p1, p2]) await waitForStatus(n.url, '/readyz', 503, 10_000, `${n.nodeId} not ready without its database`);
    await sleep(2000);
    await pg.start();
    for (const n of [p1, p2]) await waitForStatus(n.url, '/readyz', 200, 20_000, `${n.nodeId} ready again`);
    const acks = await sending;

    const refused = acks.filter((a) => !a.ok);
    const acked = acks.filter((a) => a.ok).map((a) => a.content);
    assert.ok(refused.length > 0, 'some sends fell in the outage');
    assert.deepEqual([...new Set(refused.map((a) => a.code))], ['UNAVAILABLE'], 'a refusal in the outage says UNAVAILABLE');
    const lastAck = acks.findLastIndex((a) => a.ok);
    const lastRefusal = acks.findLastIndex((a) => !a.ok);
    assert.ok(lastAck > lastRefusal, 'sends are acked again after the restart, without a restart of the nodes');

    const stored = await historyAfter(p2.url, room.id, listener, 0);
    const storedContents = stored.filter((m) => m.type === 'MESSAGE').map((m) => m.content);
    assert.equal(new Set(storedContents).size, storedContents.length, 'a message stored twice');
    for (const c of acked) assert.ok(storedContents.includes(c), `acked ${c} is not in history`);
    assertExact(stored, 'history across the outage');
    await eventually(() => acked.every((c) => listener.view.contents().has(c)), 20_000, () => 'acked messages never reached the listener');
    assertExact(listener.view.ordered(), 'the listener across the outage');
    for (const s of [sender, listener]) await disconnect(s.socket);
    await Promise.all([p1.stop(), p2.stop()]);
  });
});
