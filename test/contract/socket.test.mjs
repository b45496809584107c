// Contract part A, Socket.IO events, against `colachat --identity compat` with the stock
// socket.io-client, connected the way the original client connects (websocket only).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cleanup, connect, createRoom, disconnect, emitAck, emitJoin, history, joinRoom, mark,
  received, say, sleep, startServer, waitFor,
} from '../lib/server.mjs';
import {
  NICKNAMES, OK, assertChatter, assertMessage, isAlert, joinText, leaveText, okData, renameText,
  restOk,
} from '../lib/contract.mjs';

const GRACE_MS = 1000;
let srv;
before(async () => { srv = await startServer({ identity: 'compat', leaveGrace: '1s' }); });
after(cleanup);

/** A generated nickname within the client's limit (1–10 characters). */
function assertNewNickname(n) {
  assert.equal(typeof n, 'string');
  assert.ok([...n].length >= 1 && [...n].length <= 10, `nickname ${JSON.stringify(n)} outside 1–10 characters`);
}

const hasChatter = (id) => (list) => Array.isArray(list) && list.some((c) => c.id === id);
const lacksChatter = (id) => (list) => Array.isArray(list) && !list.some((c) => c.id === id);

describe('joinRoom', () => {
  test('a new chatter: ack envelope with the Chatter; join ALERT to everyone incl. the joiner; returnChatters', async () => {
    const room = await createRoom(srv.url);
    const b = await joinRoom(srv.url, room.id);
    const sinceB = mark(b.socket);

    const socket = await connect(srv.url, 'anonymous');
    const ack = await emitJoin(socket, room.id, { chatterId: null });
    const chatter = okData(ack, 'joinRoom ack');
    assertChatter(chatter);
    assertNewNickname(chatter.nickname);

    const text = joinText(chatter.nickname);
    for (const [who, s, since] of [['joiner', socket, 0], ['member', b.socket, sinceB]]) {
      const alert = await waitFor(s, 'sendAlert', isAlert('join', chatter.id), { since });
      assertMessage(alert, { type: 'ALERT', content: text, roomId: room.id, chatterId: chatter.id });
      assert.equal(alert.chatter.id, chatter.id, `${who}: alert embeds the chatter`);
      assert.equal(alert.chatter.nickname, chatter.nickname);
      const list = await waitFor(s, 'returnChatters', hasChatter(chatter.id), { since });
      for (const c of list) assertChatter(c);
      assert.ok(list.some((c) => c.id === b.chatter.id), `${who}: returnChatters lacks the earlier member`);
    }
    // The alert is stored.
    const page = restOk(await history(srv.url, room.id, chatter.id), 200, 'history');
    assert.equal(page[0].content, text);
    await disconnect(socket);
    await disconnect(b.socket);
  });

  test('an empty-string chatterId also creates a new chatter', async () => {
    const room = await createRoom(srv.url);
    const socket = await connect(srv.url);
    const c = okData(await emitJoin(socket, room.id, { chatterId: '' }), 'join with ""');
    assertChatter(c);
    assertNewNickname(c.nickname);
    await disconnect(socket);
  });

  test('new chatters are named like the original: one of 개구리, 메뚜기, 멸치, 너구리, 코끼리, 올빼미', async () => {
    const room = await createRoom(srv.url, { capacity: 16 });
    const names = new Set();
    for (let i = 0; i < 6; i++) {
      const s = await connect(srv.url);
      const c = okData(await emitJoin(s, room.id, {}), 'join');
      names.add(c.nickname);
      await disconnect(s);
    }
    for (const n of names) assert.ok(NICKNAMES.includes(n), `nickname got ${n}, want one of ${NICKNAMES.join(', ')}`);
  });

  test('joining again with an existing chatterId reuses that chatter', async () => {
    const room = await createRoom(srv.url);
    const first = await joinRoom(srv.url, room.id);
    const again = await connect(srv.url);
    const c = okData(await emitJoin(again, room.id, { chatterId: first.chatter.id }), 'rejoin');
    assert.equal(c.id, first.chatter.id);
    assert.equal(c.nickname, first.chatter.nickname);
    await disconnect(again);
    await disconnect(first.socket);
  });

  test('a reload within the grace makes no leave and no second join alert', async () => {
    const room = await createRoom(srv.url);
    const watcher = await joinRoom(srv.url, room.id);
    const a = await joinRoom(srv.url, room.id);
    await waitFor(watcher.socket, 'sendAlert', isAlert('join', a.chatter.id));
    const since = mark(watcher.socket);

    await disconnect(a.socket); // the page unloads…
    const reloaded = await connect(srv.url); // …and comes back at once
    const c = okData(await emitJoin(reloaded, room.id, { chatterId: a.chatter.id }), 'reload join');
    assert.equal(c.id, a.chatter.id);

    await sleep(GRACE_MS + 700);
    // A sync point: a message sent now arrives after anything the server did for the reload.
    assert.equal((await say(watcher.socket, room.id, 'sync')).success, true);
    await waitFor(watcher.socket, 'sendMessage', (m) => m.content === 'sync', { since });
    const alerts = received(watcher.socket, 'sendAlert', since).filter((m) => m.chatterId === a.chatter.id);
    assert.deepEqual(alerts.map((m) => m.content), [], 'no leave/join alert for a reload');

    const stored = restOk(await history(srv.url, room.id, watcher.chatter.id), 200, 'history');
    const aAlerts = stored.filter((m) => m.type === 'ALERT' && m.chatterId === a.chatter.id);
    assert.deepEqual(aAlerts.map((m) => m.content), [joinText(a.chatter.nickname)], 'exactly one join alert stored');
    await disconnect(reloaded);
    await disconnect(watcher.socket);
  });
});

describe('leaving', () => {
  test('disconnect → after the grace a leave ALERT to the room, then returnChatters without the chatter', async () => {
    const room = await createRoom(srv.url);
    const watcher = await joinRoom(srv.url, room.id);
    const a = await joinRoom(srv.url, room.id);
    await waitFor(watcher.socket, 'returnChatters', hasChatter(a.chatter.id));
    const since = mark(watcher.socket);
    await disconnect(a.socket);

    const alert = await waitFor(watcher.socket, 'sendAlert', isAlert('leave', a.chatter.id), { since, timeout: GRACE_MS + 4000 });
    assertMessage(alert, { type: 'ALERT', content: leaveText(a.chatter.nickname), roomId: room.id, chatterId: a.chatter.id });
    assert.equal(alert.chatter.isActive, false, 'the chatter is marked inactive before its leave alert');
    await waitFor(watcher.socket, 'returnChatters', lacksChatter(a.chatter.id), { since, timeout: 3000 });
    // Stored, and exactly once.
    const stored = restOk(await history(srv.url, room.id, watcher.chatter.id), 200, 'history');
    assert.equal(stored.filter((m) => m.content === leaveText(a.chatter.nickname)).length, 1);
    await disconnect(watcher.socket);
  });

  test('leaveRoom: ack success data null, one leave alert (none again on disconnect), the socket is out of the room', async () => {
    const room = await createRoom(srv.url);
    const watcher = await joinRoom(srv.url, room.id);
    const a = await joinRoom(srv.url, room.id);
    await waitFor(watcher.socket, 'returnChatters', hasChatter(a.chatter.id));
    const since = mark(watcher.socket);

    const ack = await emitAck(a.socket, 'leaveRoom'); // the original client sends no payload
    assert.deepEqual(ack, { success: true, message: OK, data: null });
    await waitFor(watcher.socket, 'sendAlert', isAlert('leave', a.chatter.id), { since, timeout: GRACE_MS + 4000 });

    // Out of the Socket.IO room: messages no longer reach it and it may not send.
    const aSince = mark(a.socket);
    assert.equal((await say(watcher.socket, room.id, 'after-leave')).success, true);
    await waitFor(watcher.socket, 'sendMessage', (m) => m.content === 'after-leave');
    const sendAfter = await say(a.socket, room.id, 'ghost');
    assert.equal(sendAfter.success, false, `a socket that left may not send: ${JSON.stringify(sendAfter)}`);

    await disconnect(a.socket);
    await sleep(GRACE_MS + 700);
    assert.equal((await say(watcher.socket, room.id, 'sync')).success, true);
    await waitFor(watcher.socket, 'sendMessage', (m) => m.content === 'sync');
    assert.deepEqual(received(a.socket, 'sendMessage', aSince).map((m) => m.content), [],
      'the socket that left still received room messages');
    const leaves = received(watcher.socket, 'sendAlert', since).filter(isAlert('leave', a.chatter.id));
    assert.equal(leaves.length, 1, `leave alerts got ${leaves.length}, want 1 (leaveRoom then disconnect)`);
    await disconnect(watcher.socket);
  });

  test('one socket in two rooms: a disconnect makes the leave alert in both rooms, not only the first', async () => {
    const r1 = await createRoom(srv.url);
    const r2 = await createRoom(srv.url);
    const w1 = await joinRoom(srv.url, r1.id);
    const w2 = await joinRoom(srv.url, r2.id);
    const s = await connect(srv.url);
    const c1 = okData(await emitJoin(s, r1.id, {}), 'join room 1');
    const c2 = okData(await emitJoin(s, r2.id, {}), 'join room 2');
    const since1 = mark(w1.socket);
    const since2 = mark(w2.socket);
    await disconnect(s);
    await waitFor(w1.socket, 'sendAlert', isAlert('leave', c1.id), { since: since1, timeout: GRACE_MS + 4000 });
    await waitFor(w2.socket, 'sendAlert', isAlert('leave', c2.id), { since: since2, timeout: GRACE_MS + 4000 });
    await waitFor(w2.socket, 'returnChatters', lacksChatter(c2.id), { since: since2 });
    await disconnect(w1.socket);
    await disconnect(w2.socket);
  });

  test('a socket that disconnects without joining does not hurt the server', async () => {
    const s = await connect(srv.url);
    await disconnect(s);
    const s2 = await connect(srv.url);
    const ack = await emitJoin(s2, '00000000-0000-4000-8000-000000000000', {});
    assert.equal(ack.success, false, 'joining an unknown room fails');
    await disconnect(s2);
    await sleep(GRACE_MS + 300);
    const health = await api(srv.url, 'GET', '/healthz');
    assert.equal(health.status, 200, 'server still up');
  });
});

describe('sendMessage', () => {
  test('broadcast to the whole room including the sender, ack success, stored', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const ack = await say(a.socket, room.id, '안녕하세요 👋');
    assert.deepEqual(ack, { success: true, message: OK, data: null });
    for (const s of [a.socket, b.socket]) {
      const m = await waitFor(s, 'sendMessage', (x) => x.content === '안녕하세요 👋');
      assertMessage(m, { type: 'MESSAGE', roomId: room.id, chatterId: a.chatter.id });
      assert.equal(m.chatter.nickname, a.chatter.nickname);
    }
    const stored = restOk(await history(srv.url, room.id, b.chatter.id), 200, 'history');
    const last = stored[stored.length - 1];
    assertMessage(last, { type: 'MESSAGE', content: '안녕하세요 👋', chatterId: a.chatter.id });
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('message ids grow and broadcasts keep the send order', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    for (let i = 0; i < 10; i++) assert.equal((await say(a.socket, room.id, `n${i}`)).success, true);
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'n9');
    const got = received(b.socket, 'sendMessage');
    assert.deepEqual(got.map((m) => m.content), Array.from({ length: 10 }, (_, i) => `n${i}`));
    for (let i = 1; i < got.length; i++) assert.ok(got[i].id > got[i - 1].id, 'ids grow');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('sendAlert and returnChatters', () => {
  test('the original client\'s rename flow: PATCH, then its rename notice via sendAlert, acked success; the room sees one rename alert', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const since = mark(b.socket);
    const oldNick = a.chatter.nickname;
    const renamed = restOk(await api(srv.url, 'PATCH', `/chat/chatters/${a.chatter.id}/nickname`, { nickname: '콜라' }), 200, 'rename');
    assert.equal(renamed.nickname, '콜라');
    const notice = renameText(oldNick, '콜라');
    const ack = await emitAck(a.socket, 'sendAlert', { roomId: room.id, content: notice });
    assert.deepEqual(ack, { success: true, message: OK, data: null });

    const alert = await waitFor(b.socket, 'sendAlert', (m) => m.content === notice, { since });
    assertMessage(alert, { type: 'ALERT', roomId: room.id, chatterId: a.chatter.id });
    // Sync, then count: the notice reached the room once and is stored once.
    assert.equal((await say(b.socket, room.id, 'sync')).success, true);
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'sync', { since });
    assert.equal(received(b.socket, 'sendAlert', since).filter((m) => m.content === notice).length, 1);
    const stored = restOk(await history(srv.url, room.id, b.chatter.id), 200, 'history');
    assert.equal(stored.filter((m) => m.content === notice).length, 1, 'the rename notice is stored once');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('returnChatters {roomId}: ack success, the online Chatters broadcast to the room', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const since = mark(b.socket);
    const ack = await emitAck(a.socket, 'returnChatters', { roomId: room.id });
    assert.deepEqual(ack, { success: true, message: OK, data: null });
    const list = await waitFor(b.socket, 'returnChatters', () => true, { since });
    assert.deepEqual(list.map((c) => c.id).sort(), [a.chatter.id, b.chatter.id].sort());
    for (const c of list) assertChatter(c);
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('namespaces and transports', () => {
  test('any namespace is accepted; a room lives in its own namespace', async () => {
    for (const ns of ['anonymous', 'team-42']) {
      const room = await createRoom(srv.url, { namespace: ns });
      assert.equal(room.namespace, ns);
      const a = await joinRoom(srv.url, room.id, {}, { namespace: ns });
      assert.equal((await say(a.socket, room.id, `hi ${ns}`)).success, true);
      await waitFor(a.socket, 'sendMessage', (m) => m.content === `hi ${ns}`);
      await disconnect(a.socket);
    }
  });

  test('HTTP long-polling with upgrade works too', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id, {}, { socketOpts: { transports: ['polling', 'websocket'] } });
    const b = await joinRoom(srv.url, room.id, {}, { socketOpts: { transports: ['polling'] } });
    assert.equal((await say(b.socket, room.id, 'over polling')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'over polling');
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'over polling');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('typing (addition)', () => {
  test('typing {roomId} reaches the others (not the sender) as {roomId, chatterId, nickname} and is never stored', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const aSince = mark(a.socket);
    // Three in a burst: at most one every 2 s per socket is relayed.
    for (let i = 0; i < 3; i++) a.socket.emit('typing', { roomId: room.id });
    const t = await waitFor(b.socket, 'typing', () => true);
    assert.deepEqual(t, { roomId: room.id, chatterId: a.chatter.id, nickname: a.chatter.nickname });
    // Sync through the room, then check the sender got no echo.
    assert.equal((await say(b.socket, room.id, 'sync')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'sync', { since: aSince });
    assert.deepEqual(received(a.socket, 'typing', aSince), [], 'the sender gets no typing echo');
    assert.equal(received(b.socket, 'typing').length, 1, 'a burst of typing is relayed once');
    const stored = restOk(await history(srv.url, room.id, b.chatter.id), 200, 'history');
    assert.deepEqual(stored.filter((m) => m.type === 'MESSAGE').map((m) => m.content), ['sync'], 'typing is not stored');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});
