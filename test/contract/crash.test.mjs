// Crash test: an acked message is a durable message. Several clients send concurrently, the
// server is killed with SIGKILL mid-stream, restarted on the same SQLite file, and every message
// whose ack said success must be in the history (read through the REST cursor with a token).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createRoom, fullHistory, joinRoom, sleep, startServer,
} from '../lib/server.mjs';

after(cleanup);

const WRITERS = 4;
const IN_FLIGHT = 4; // concurrent unacked sends per writer
const KILL_AFTER_MS = 2000;

test('every message acked before a kill -9 is in the history after a restart on the same database', async (t) => {
  const srv = await startServer({ identity: 'strict' });
  const room = await createRoom(srv.url, { capacity: 16 });
  const reader = await joinRoom(srv.url, room.id); // joins first: its history covers everything
  const writers = [];
  for (let i = 0; i < WRITERS; i++) writers.push(await joinRoom(srv.url, room.id));

  const acked = new Set();
  const refused = [];
  let attempted = 0;
  let stop = false;

  async function lane(writer, w, laneNo) {
    for (let seq = 0; !stop && writer.socket.connected; seq++) {
      const content = `w${w}-l${laneNo}-${seq}`;
      attempted++;
      try {
        const ack = await writer.socket.timeout(5000).emitWithAck('sendMessage', { roomId: room.id, content });
        if (ack?.success === true) acked.add(content);
        else refused.push(ack);
      } catch {
        return; // disconnected (the kill) or no ack: not acked, so not promised
      }
    }
  }

  const lanes = [];
  writers.forEach((writer, w) => {
    for (let l = 0; l < IN_FLIGHT; l++) lanes.push(lane(writer, w, l));
  });
  await sleep(KILL_AFTER_MS);
  const ackedBeforeKill = acked.size;
  await srv.kill9();
  stop = true;
  await Promise.all(lanes);
  for (const s of [reader.socket, ...writers.map((x) => x.socket)]) s.disconnect();

  assert.ok(ackedBeforeKill >= 20, `only ${ackedBeforeKill} messages acked in ${KILL_AFTER_MS} ms: the stream did not run`);
  const unexpected = refused.filter((a) => a && a.code !== 'RATE_LIMITED');
  assert.deepEqual(unexpected, [], 'sends were refused for another reason than the kill');

  t.diagnostic(`${attempted} sends attempted, ${acked.size} acked (${ackedBeforeKill} before the kill signal)`);
  await srv.restart();
  const stored = await fullHistory(srv.url, room.id, reader.chatter.id, reader.token);
  const contents = stored.filter((m) => m.type === 'MESSAGE').map((m) => m.content);
  const counts = new Map();
  for (const c of contents) counts.set(c, (counts.get(c) ?? 0) + 1);
  const lost = [...acked].filter((c) => !counts.has(c));
  assert.deepEqual(lost.slice(0, 20), [], `${lost.length} of ${acked.size} acked messages lost (of ${attempted} attempted)`);
  const doubled = [...counts].filter(([, n]) => n > 1).map(([c]) => c);
  assert.deepEqual(doubled, [], 'a message stored twice');
  for (let i = 1; i < stored.length; i++) assert.ok(stored[i].id > stored[i - 1].id, 'history ids grow');

  // Per lane, the stored messages keep the send order.
  const lanesSeen = new Map();
  for (const c of contents) {
    const [w, l, seq] = c.split('-');
    const key = `${w}-${l}`;
    const n = Number(seq);
    assert.ok(!lanesSeen.has(key) || lanesSeen.get(key) < n, `lane ${key} out of order at ${c}`);
    lanesSeen.set(key, n);
  }
  await srv.stop();
});
