// Contract part B6: the history cursor (?before=&limit=, ?after=) never skips or repeats a
// message while new messages arrive between calls. Strict mode (history with the token).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createRoom, disconnect, history, joinRoom, say, startServer, waitFor,
} from '../lib/server.mjs';
import { assertMessage, isAlert, restOk } from '../lib/contract.mjs';

let srv;
before(async () => { srv = await startServer({ identity: 'strict' }); });
after(cleanup);

/** Every message/alert socket has seen, oldest first, from index 0 of its log. */
const seen = (socket) => socket.log
  .filter((e) => e.event === 'sendMessage' || e.event === 'sendAlert')
  .map((e) => e.args[0]);

describe('B6 cursor pagination', () => {
  test('?before walks back without gaps or repeats while messages keep arriving; ?after walks forward the same way', async () => {
    const room = await createRoom(srv.url);
    const talker = await joinRoom(srv.url, room.id);
    assert.equal((await say(talker.socket, room.id, 'before A joined')).success, true);

    const a = await joinRoom(srv.url, room.id);
    await waitFor(a.socket, 'sendAlert', isAlert('join', a.chatter.id));
    for (let i = 0; i < 30; i++) assert.equal((await say(a.socket, room.id, `c${i}`)).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'c29');
    const snapshot = seen(a.socket);
    assert.equal(snapshot.length, 31, 'A saw its join alert and its 30 messages');
    const read = (query) => history(srv.url, room.id, a.chatter.id, { token: a.token, query })
      .then((res) => restOk(res, 200, `cursor ${JSON.stringify(query)}`));

    // Backwards: newest 7 first, then before=<oldest id of the batch>, talker posts between calls.
    const back = [];
    let batch = await read({ limit: 7 });
    let interleaved = 0;
    while (batch.length > 0) {
      assert.ok(batch.length <= 7, `batch of ${batch.length} > limit 7`);
      for (let i = 1; i < batch.length; i++) assert.ok(batch[i].id > batch[i - 1].id, 'oldest first within a batch');
      for (const m of batch) assertMessage(m, { roomId: room.id });
      back.unshift(...batch);
      const ack = await say(talker.socket, room.id, `between-${interleaved++}`);
      assert.equal(ack.success, true);
      batch = await read({ before: batch[0].id, limit: 7 });
    }
    assert.deepEqual(back.map((m) => m.id), snapshot.map((m) => m.id),
      'walking back gives exactly the messages from A\'s join alert to the first call');
    assert.equal(back[0].type, 'ALERT', 'the walk stops at A\'s join alert');
    assert.ok(!back.some((m) => m.content === 'before A joined'), 'nothing from before the join');

    // Forwards from the newest message of the snapshot: only what came after, in order.
    await waitFor(a.socket, 'sendMessage', (m) => m.content === `between-${interleaved - 1}`);
    const forward = [];
    let cursor = snapshot[snapshot.length - 1].id;
    for (;;) {
      const page = await read({ after: cursor, limit: 3 });
      assert.ok(page.length <= 3);
      if (page.length === 0) break;
      forward.push(...page);
      cursor = page[page.length - 1].id;
      if (interleaved < 12) assert.equal((await say(talker.socket, room.id, `between-${interleaved++}`)).success, true);
    }
    await waitFor(a.socket, 'sendMessage', (m) => m.content === `between-${interleaved - 1}`);
    const expected = seen(a.socket).filter((m) => m.id > snapshot[snapshot.length - 1].id);
    assert.deepEqual(forward.map((m) => m.id), expected.map((m) => m.id), 'walking forward: every later message once, in order');
    assert.deepEqual(forward.map((m) => m.content), Array.from({ length: interleaved }, (_, i) => `between-${i}`));
    await disconnect(a.socket);
    await disconnect(talker.socket);
  });

  test('?after=0 starts at the chatter\'s join alert; limit bounds the batch; page is ignored with a cursor', async () => {
    const room = await createRoom(srv.url);
    const talker = await joinRoom(srv.url, room.id);
    for (let i = 0; i < 3; i++) assert.equal((await say(talker.socket, room.id, `old-${i}`)).success, true);
    const a = await joinRoom(srv.url, room.id);
    const joinAlert = await waitFor(a.socket, 'sendAlert', isAlert('join', a.chatter.id));
    for (let i = 0; i < 5; i++) assert.equal((await say(a.socket, room.id, `new-${i}`)).success, true);

    const first = restOk(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { after: 0, limit: 2 } }), 200, 'after=0');
    assert.deepEqual(first.map((m) => m.id), [joinAlert.id, first[1]?.id]);
    assert.equal(first[1].content, 'new-0');

    const one = restOk(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { limit: 1 } }), 200, 'limit 1');
    assert.deepEqual(one.map((m) => m.content), ['new-4'], 'limit alone: the newest limit messages');

    const pageIgnored = restOk(await history(srv.url, room.id, a.chatter.id, { page: 5, token: a.token, query: { limit: 50 } }), 200, 'page 5 with limit');
    assert.deepEqual(pageIgnored.map((m) => m.content), [joinAlert.content, 'new-0', 'new-1', 'new-2', 'new-3', 'new-4'],
      'with a cursor the page number is ignored; the default window reaches back to the join alert and no further');
    await disconnect(a.socket);
    await disconnect(talker.socket);
  });
});
