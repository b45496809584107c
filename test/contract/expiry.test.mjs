// Contract part A (expired rooms: access-check 404 and isExpired, history 404) and B2/B8
// (expiry enforced at join; active expiry: ALERT + roomExpired, sends refused; retention purge).
// Rooms live 2 s here (--room-ttl 2s).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cleanup, connect, createRoom, disconnect, emitExpectingError, history, joinRoom, sleep,
  startServer, waitFor,
} from '../lib/server.mjs';
import { assertRoom, isAlert, restError, restOk, socketError } from '../lib/contract.mjs';

const TTL_MS = 2000;
let keep; // expired rooms are kept for an hour
let purge; // expired rooms are purged after 1 s
before(async () => {
  [keep, purge] = await Promise.all([
    startServer({ identity: 'compat', roomTtl: '2s', retention: '1h' }),
    startServer({ identity: 'strict', roomTtl: '2s', retention: '1s' }),
  ]);
});
after(cleanup);

/** Sleeps until the room's expiresAt has passed (plus a margin). */
async function untilExpired(room) {
  const wait = Date.parse(room.expiresAt) - Date.now() + 300;
  if (wait > 0) await sleep(wait);
}

describe('room expiry', () => {
  test('--room-ttl sets expiresAt = createdAt + ttl', async () => {
    const room = await createRoom(keep.url);
    assert.equal(Date.parse(room.expiresAt) - Date.parse(room.createdAt), TTL_MS);
  });

  test('A: access-check on an expired room → 404 채팅이 만료되어 더 이상 사용할 수 없습니다., and the room is marked isExpired', async () => {
    const room = await createRoom(keep.url);
    assert.equal(room.isExpired, false);
    await untilExpired(room);
    restError(await api(keep.url, 'POST', `/chat/rooms/${room.id}/access-check`, {}), 'ROOM_EXPIRED', 'expired access-check');
    const detail = restOk(await api(keep.url, 'GET', `/chat/rooms/${room.id}`), 200, 'expired room detail');
    assertRoom(detail, { id: room.id, isExpired: true });
    const listed = restOk(await api(keep.url, 'GET', '/chat/rooms'), 200, 'list').find((r) => r.id === room.id);
    assert.equal(listed?.isExpired, true, 'the list shows it expired too');
  });

  test('B8: members get the expire ALERT, then roomExpired {roomId}; afterwards sends, joins and history fail with ROOM_EXPIRED', async () => {
    const room = await createRoom(keep.url);
    const a = await joinRoom(keep.url, room.id);
    const b = await joinRoom(keep.url, room.id);
    assert.equal((await emitExpectingError(a.socket, 'sendMessage', { roomId: room.id, content: 'still alive' })).ack.success, true);

    for (const s of [a.socket, b.socket]) {
      const expired = await waitFor(s, 'roomExpired', () => true, { timeout: TTL_MS + 8000 });
      assert.deepEqual(expired, { roomId: room.id });
      const alertIndex = s.log.findIndex((e) => e.event === 'sendAlert' && isAlert('expire')(e.args[0]));
      const expiredIndex = s.log.findIndex((e) => e.event === 'roomExpired');
      assert.ok(alertIndex >= 0, `no expire alert; got ${JSON.stringify(s.log.map((e) => e.event))}`);
      assert.ok(alertIndex < expiredIndex, 'the ALERT comes before roomExpired');
      const alert = s.log[alertIndex].args[0];
      assert.equal(alert.type, 'ALERT');
      assert.equal(alert.roomId, room.id);
      assert.equal(typeof alert.content, 'string');
      assert.ok(alert.content.length > 0);
      assert.ok(Number.isInteger(alert.id), 'the expire alert is a stored message');
    }

    const late = await connect(keep.url);
    socketError(await emitExpectingError(late, 'joinRoom', { roomId: room.id, chatterId: null }), 'ROOM_EXPIRED', 'join after expiry');
    socketError(await emitExpectingError(late, 'joinRoom', { roomId: room.id, chatterId: a.chatter.id }), 'ROOM_EXPIRED', 'rejoin after expiry');
    restError(await history(keep.url, room.id, a.chatter.id), 'ROOM_EXPIRED', 'history of an expired room');
    restError(await api(keep.url, 'POST', `/chat/rooms/${room.id}/access-check`, {}), 'ROOM_EXPIRED', 'access-check after expiry');
    assert.equal(restOk(await api(keep.url, 'GET', `/chat/rooms/${room.id}`), 200, 'detail').isExpired, true);
    // A member that was removed from the room learns why: the room expired (not "not joined").
    socketError(await emitExpectingError(a.socket, 'sendMessage', { roomId: room.id, content: 'too late' }), 'ROOM_EXPIRED', 'send after expiry');
    await Promise.all([a.socket, b.socket, late].map(disconnect));
  });

  test('B2: joinRoom on an expired room nobody was in → ROOM_EXPIRED', async () => {
    const room = await createRoom(keep.url);
    await untilExpired(room);
    const s = await connect(keep.url);
    socketError(await emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: null }), 'ROOM_EXPIRED', 'join expired');
    await disconnect(s);
  });

  test('B8: after expiry + retention the room and its messages are purged (404 채팅방이 존재하지 않습니다.)', async () => {
    const room = await createRoom(purge.url);
    const a = await joinRoom(purge.url, room.id);
    assert.equal((await emitExpectingError(a.socket, 'sendMessage', { roomId: room.id, content: 'ephemeral' })).ack.success, true);
    await waitFor(a.socket, 'roomExpired', () => true, { timeout: TTL_MS + 8000 });

    const deadline = Date.now() + 15_000;
    let res;
    for (;;) {
      res = await api(purge.url, 'GET', `/chat/rooms/${room.id}`);
      if (res.status === 404 || Date.now() > deadline) break;
      assert.equal(res.status, 200, `while waiting for the purge: ${res.status} ${res.text}`);
      await sleep(250);
    }
    restError(res, 'ROOM_NOT_FOUND', 'purged room');
    restError(await history(purge.url, room.id, a.chatter.id, { token: a.token }), 'ROOM_NOT_FOUND', 'purged history');
    const list = restOk(await api(purge.url, 'GET', '/chat/rooms'), 200, 'list');
    assert.ok(!list.some((r) => r.id === room.id), 'a purged room is not listed');
    await disconnect(a.socket);
  });
});
