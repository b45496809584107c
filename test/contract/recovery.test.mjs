// Contract part B9: Socket.IO connection state recovery with the stock socket.io-client. A
// client that loses its connection briefly gets back its rooms and every missed message, once
// and in order — also across a server restart (the store backs the recovery).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createRoom, disconnect, emitAck, emitJoin, joinRoom, mark, received, say, sleep, startServer,
  waitFor,
} from '../lib/server.mjs';
import { assertMessage } from '../lib/contract.mjs';

let srv;
before(async () => { srv = await startServer({ identity: 'strict', recoveryWindow: '30s' }); });
after(cleanup);

/** Cuts the transport under the socket (as a network loss would) and waits for "disconnect". */
function loseConnection(socket) {
  return new Promise((resolve) => {
    socket.once('disconnect', (reason) => resolve(reason));
    socket.io.engine.close();
  });
}

/** Reconnects the same client (it sends its pid and last offset) and waits for "connect". */
function reconnect(socket) {
  return new Promise((resolve, reject) => {
    const onError = (err) => { socket.off('connect', onConnect); reject(err); };
    const onConnect = () => { socket.off('connect_error', onError); resolve(); };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/** Messages and alerts of `room` seen by socket from index since, in arrival order. */
const roomTraffic = (socket, roomId, since) => socket.log.slice(since)
  .filter((e) => (e.event === 'sendMessage' || e.event === 'sendAlert') && e.args[0]?.roomId === roomId)
  .map((e) => e.args[0]);

function assertOnceInOrder(list, what) {
  const ids = list.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `${what}: a message arrived twice: ${ids}`);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${what}: out of order: ${ids}`);
  for (let i = 1; i < list.length; i++) assert.ok(list[i].seq > list[i - 1].seq, `${what}: positions out of order`);
}

describe('B9 connection state recovery', () => {
  test('messages carry their position (seq) and the offset "<roomId>:<seq>"; the online list carries none', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    assert.equal(typeof a.socket._pid, 'string', 'the CONNECT reply must carry a pid');
    const joinAlert = await waitFor(a.socket, 'sendAlert', (m) => m.chatterId === a.chatter.id);
    assert.equal(joinAlert.seq, 1, "the creator's join alert is the room's first position");
    assert.equal((await say(a.socket, room.id, 'with offset')).success, true);
    const args = a.socket.log.find((e) => e.event === 'sendMessage' && e.args[0].content === 'with offset').args;
    assert.equal(args.length, 2, `sendMessage args got ${JSON.stringify(args)}, want [message, offset]`);
    assert.equal(args[0].seq, 2, 'the next message takes the next position');
    assert.equal(args[1], `${room.id}:2`, 'the offset is the room and the position');
    const chatters = a.socket.log.filter((e) => e.event === 'returnChatters');
    assert.ok(chatters.length > 0, 'returnChatters seen');
    // [list, {roomId}]: an offset would be a trailing string.
    for (const e of chatters) assert.ok(!e.args.some((x) => typeof x === 'string'), `returnChatters carries no offset: ${JSON.stringify(e.args)}`);
    await disconnect(a.socket);
  });

  test('one connection in two rooms recovers both exactly when it names its positions', async () => {
    const r1 = await createRoom(srv.url);
    const r2 = await createRoom(srv.url);
    const positions = {};
    const a = await joinRoom(srv.url, r1.id, {}, { socketOpts: { auth: (cb) => cb({ positions }) } });
    const a2 = await emitJoin(a.socket, r2.id, { chatterId: a.chatter.id, token: a.token });
    assert.equal(a2.success, true);
    const b1 = await joinRoom(srv.url, r1.id);
    const b2 = await joinRoom(srv.url, r2.id);
    // The client keeps the last position it has per room, as the web UI does.
    const track = (m) => { positions[m.roomId] = Math.max(positions[m.roomId] ?? 0, m.seq); };
    a.socket.on('sendMessage', track);
    a.socket.on('sendAlert', track);
    await waitFor(a.socket, 'sendAlert', (m) => m.chatterId === b2.chatter.id);
    assert.equal((await say(b1.socket, r1.id, 'r1 seen')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'r1 seen');

    await loseConnection(a.socket);
    for (let i = 0; i < 3; i++) {
      assert.equal((await say(b1.socket, r1.id, `r1 missed ${i}`)).success, true);
      assert.equal((await say(b2.socket, r2.id, `r2 missed ${i}`)).success, true);
    }
    const since = mark(a.socket);
    await reconnect(a.socket);
    assert.equal(a.socket.recovered, true, 'recovered with positions');
    assert.equal((await say(b2.socket, r2.id, 'r2 live')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'r2 live', { since });
    for (const [room, want] of [[r1, ['r1 missed 0', 'r1 missed 1', 'r1 missed 2']],
      [r2, ['r2 missed 0', 'r2 missed 1', 'r2 missed 2', 'r2 live']]]) {
      const got = roomTraffic(a.socket, room.id, since);
      assertOnceInOrder(got, room.title);
      for (let i = 1; i < got.length; i++) assert.equal(got[i].seq, got[i - 1].seq + 1, `a hole in ${JSON.stringify(got.map((m) => m.seq))}`);
      assert.deepEqual(got.filter((m) => m.type === 'MESSAGE').map((m) => m.content), want);
    }
    for (const s of [a.socket, b1.socket, b2.socket]) await disconnect(s);
  });

  test('one connection in two rooms without positions is not resumed: a fresh session', async () => {
    const r1 = await createRoom(srv.url);
    const r2 = await createRoom(srv.url);
    const a = await joinRoom(srv.url, r1.id);
    assert.equal((await emitJoin(a.socket, r2.id, { chatterId: a.chatter.id, token: a.token })).success, true);
    await say(a.socket, r1.id, 'seen');
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'seen');
    await loseConnection(a.socket);
    await reconnect(a.socket);
    assert.equal(Boolean(a.socket.recovered), false, 'its position in the other room is unknown');
    await disconnect(a.socket);
  });

  test('a short network loss: recovered === true, missed messages once and in order, rooms kept, no leave/join noise', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    // A has seen B's join alert, so it holds an offset.
    await waitFor(a.socket, 'sendAlert', (m) => m.chatterId === b.chatter.id);
    const bSince = mark(b.socket);

    await loseConnection(a.socket);
    const missed = [];
    for (let i = 0; i < 5; i++) {
      const content = `missed-${i}`;
      assert.equal((await say(b.socket, room.id, content)).success, true);
      missed.push(content);
    }
    const since = mark(a.socket);
    await reconnect(a.socket);
    assert.equal(a.socket.recovered, true, 'socket.recovered after reconnecting within the window');
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'missed-4', { since });

    // Still in the room: it can send, and live messages reach it.
    assert.equal((await say(a.socket, room.id, 'back again')).success, true);
    assert.equal((await say(b.socket, room.id, 'welcome back')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'welcome back', { since });
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'back again', { since: bSince });

    const got = roomTraffic(a.socket, room.id, since);
    assertOnceInOrder(got, 'after recovery');
    assert.deepEqual(got.filter((m) => m.type === 'MESSAGE').map((m) => m.content), [...missed, 'back again', 'welcome back']);
    for (const m of got) assertMessage(m);
    const noise = received(b.socket, 'sendAlert', bSince).filter((m) => m.chatterId === a.chatter.id);
    assert.deepEqual(noise.map((m) => m.content), [], 'a recovered blip makes no leave/join alerts');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('a bogus pid is not recovered: a fresh session that must join again', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    a.socket._pid = 'bogus-pid';
    a.socket._lastOffset = '1';
    await loseConnection(a.socket);
    await reconnect(a.socket);
    assert.equal(Boolean(a.socket.recovered), false, 'a bogus pid must not be recovered');
    // A fresh session must join again before sending.
    const ack = await emitAck(a.socket, 'sendMessage', { roomId: room.id, content: 'not joined' });
    assert.equal(ack.success, false);
    await disconnect(a.socket);
  });

  test('after the recovery window the session is gone: not recovered, must join again', async () => {
    const short = await startServer({ identity: 'strict', recoveryWindow: '1s' });
    const room = await createRoom(short.url);
    const a = await joinRoom(short.url, room.id);
    const b = await joinRoom(short.url, room.id);
    await waitFor(a.socket, 'sendAlert', (m) => m.chatterId === b.chatter.id);
    await loseConnection(a.socket);
    // Past the window (and the leave grace): the leave alert tells us A is gone for good.
    await waitFor(b.socket, 'sendAlert', (m) => m.alert?.kind === 'leave' && m.chatterId === a.chatter.id, { timeout: 6000 });
    await sleep(500);
    await reconnect(a.socket);
    assert.equal(Boolean(a.socket.recovered), false, 'recovered after the window');
    assert.equal((await emitAck(a.socket, 'sendMessage', { roomId: room.id, content: 'x' })).success, false);
    await disconnect(a.socket);
    await disconnect(b.socket);
    await short.stop();
  });

  test('across a server restart: the store backs the recovery', async () => {
    const own = await startServer({ identity: 'strict', recoveryWindow: '30s' });
    const room = await createRoom(own.url);
    const a = await joinRoom(own.url, room.id);
    const b = await joinRoom(own.url, room.id);
    await waitFor(a.socket, 'sendAlert', (m) => m.chatterId === b.chatter.id);
    assert.equal((await say(b.socket, room.id, 'before restart')).success, true);
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'before restart');

    const aGone = new Promise((resolve) => a.socket.once('disconnect', resolve));
    await own.restart(); // graceful stop, then the same port and database
    await aGone;
    await disconnect(b.socket);

    // B comes back (rejoins with its token) and talks while A is still away.
    const b2 = await joinRoom(own.url, room.id, { chatterId: b.chatter.id, token: b.token });
    const missed = ['after restart 1', 'after restart 2', 'after restart 3'];
    for (const content of missed) assert.equal((await say(b2.socket, room.id, content)).success, true);

    const since = mark(a.socket);
    await reconnect(a.socket);
    assert.equal(a.socket.recovered, true, 'recovered after a restart');
    await waitFor(a.socket, 'sendMessage', (m) => m.content === missed[2], { since });
    assert.equal((await say(a.socket, room.id, 'A is back')).success, true, 'A keeps its room after a restart');
    await waitFor(b2.socket, 'sendMessage', (m) => m.content === 'A is back');

    const got = roomTraffic(a.socket, room.id, since);
    assertOnceInOrder(got, 'after restart recovery');
    assert.deepEqual(got.filter((m) => m.type === 'MESSAGE').map((m) => m.content), [...missed, 'A is back']);
    assert.ok(!got.some((m) => m.content === 'before restart'), 'nothing already seen is replayed');
    await disconnect(a.socket);
    await disconnect(b2.socket);
    await own.stop();
  });
});
