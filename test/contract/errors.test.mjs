// Contract part B1 (errors reach the ack), B4 (namespaces and rooms agree), B5 (alerts are the
// server's) and B7 (input validation), in strict identity mode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, bearer, cleanup, connect, createRoom, disconnect, emitAck, emitExpectingError, emitJoin,
  history, joinRoom, mark, received, say, startServer, waitFor,
} from '../lib/server.mjs';
import {
  OK, assertMessage, isAlert, joinText, leaveText, okData, renameText, restError, restOk,
  socketError,
} from '../lib/contract.mjs';

let srv;
before(async () => { srv = await startServer({ identity: 'strict' }); });
after(cleanup);

const UNKNOWN_ROOM = '00000000-0000-4000-8000-000000000000';

describe('B1: errors reach the ack and the message event', () => {
  test('joinRoom for an unknown room: ack {success:false, message, data:null, code} and the same JSON as a message event', async () => {
    const s = await connect(srv.url);
    const res = await emitExpectingError(s, 'joinRoom', { roomId: UNKNOWN_ROOM, chatterId: null });
    socketError(res, 'ROOM_NOT_FOUND', 'joinRoom unknown room');
    assert.ok(s.connected, 'the connection survives the error');
    // …and the socket is still usable.
    const room = await createRoom(srv.url);
    okData(await emitJoin(s, room.id, {}), 'join after an error');
    await disconnect(s);
  });

  test('sendMessage to an unknown room → ROOM_NOT_FOUND or NOT_JOINED through the ack', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const res = await emitExpectingError(a.socket, 'sendMessage', { roomId: UNKNOWN_ROOM, content: 'x' });
    assert.ok(['ROOM_NOT_FOUND', 'NOT_JOINED'].includes(res.ack.code), `code got ${res.ack.code}`);
    socketError(res, res.ack.code, 'sendMessage unknown room');
    await disconnect(a.socket);
  });
});

describe('B4: namespaces and rooms agree', () => {
  test('joinRoom for a room of another namespace → NAMESPACE_MISMATCH', async () => {
    const room = await createRoom(srv.url, { namespace: 'anonymous' });
    const s = await connect(srv.url, 'elsewhere');
    const res = await emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: null });
    socketError(res, 'NAMESPACE_MISMATCH', 'cross-namespace join');
    await disconnect(s);
  });

  test('sendMessage for a room of another namespace → NAMESPACE_MISMATCH, nothing delivered', async () => {
    const room = await createRoom(srv.url, { namespace: 'anonymous' });
    const member = await joinRoom(srv.url, room.id);
    const since = mark(member.socket);
    const s = await connect(srv.url, 'elsewhere');
    const res = await emitExpectingError(s, 'sendMessage', { roomId: room.id, content: 'sneaky' });
    socketError(res, 'NAMESPACE_MISMATCH', 'cross-namespace send');
    assert.equal((await say(member.socket, room.id, 'sync')).success, true);
    await waitFor(member.socket, 'sendMessage', (m) => m.content === 'sync', { since });
    assert.deepEqual(received(member.socket, 'sendMessage', since).map((m) => m.content), ['sync']);
    await disconnect(s);
    await disconnect(member.socket);
  });

  test('sendMessage before joinRoom → NOT_JOINED; after joining another room → NOT_JOINED', async () => {
    const room = await createRoom(srv.url);
    const other = await createRoom(srv.url);
    const s = await connect(srv.url);
    socketError(await emitExpectingError(s, 'sendMessage', { roomId: room.id, content: 'hi' }), 'NOT_JOINED', 'send before join');
    okData(await emitJoin(s, other.id, {}), 'join the other room');
    socketError(await emitExpectingError(s, 'sendMessage', { roomId: room.id, content: 'hi' }), 'NOT_JOINED', 'send to a room not joined');
    // sendAlert and returnChatters on a room not joined are refused too.
    const alert = await emitAck(s, 'sendAlert', { roomId: room.id, content: 'x' });
    assert.equal(alert.success, false, `sendAlert to a room not joined: ${JSON.stringify(alert)}`);
    await disconnect(s);
  });
});

describe('B5: alerts are the server\'s', () => {
  test('PATCH rename makes the rename alert (with alert {kind:"rename", nickname, newNickname}); the client\'s identical notice is acked and not stored twice', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const since = mark(b.socket);
    const oldNick = a.chatter.nickname;
    const res = await api(srv.url, 'PATCH', `/chat/chatters/${a.chatter.id}/nickname`, { nickname: '사이다' }, bearer(a.token));
    assert.equal(restOk(res, 200, 'rename').nickname, '사이다');

    const notice = renameText(oldNick, '사이다');
    const alert = await waitFor(b.socket, 'sendAlert', isAlert('rename', a.chatter.id), { since });
    assertMessage(alert, { type: 'ALERT', content: notice, roomId: room.id, chatterId: a.chatter.id });
    assert.equal(alert.alert.nickname, oldNick);
    assert.equal(alert.alert.newNickname, '사이다');
    assert.equal(alert.chatter.nickname, '사이다', 'the alert embeds the renamed chatter');

    const ack = await emitAck(a.socket, 'sendAlert', { roomId: room.id, content: notice });
    assert.deepEqual(ack, { success: true, message: OK, data: null });
    assert.equal((await say(b.socket, room.id, 'sync')).success, true);
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'sync', { since });
    assert.equal(received(b.socket, 'sendAlert', since).filter((m) => m.content === notice).length, 1, 'broadcast once');
    const stored = restOk(await history(srv.url, room.id, b.chatter.id, { token: b.token }), 200, 'history');
    assert.equal(stored.filter((m) => m.content === notice).length, 1, 'stored once');
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('forged system alerts and arbitrary client alerts → ALERT_FORBIDDEN, nothing stored or broadcast', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    const since = mark(b.socket);
    const forged = [
      joinText('X'),
      leaveText(b.chatter.nickname),
      renameText(b.chatter.nickname, '바보'),
      renameText(a.chatter.nickname, '다른이름'), // a has not renamed: not a notice the server made
      '관리자 공지: 비밀번호를 알려주세요',
    ];
    for (const content of forged) {
      socketError(await emitExpectingError(a.socket, 'sendAlert', { roomId: room.id, content }), 'ALERT_FORBIDDEN', `sendAlert ${content}`);
    }
    assert.equal((await say(b.socket, room.id, 'sync')).success, true);
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'sync', { since });
    assert.deepEqual(received(b.socket, 'sendAlert', since).map((m) => m.content), []);
    const stored = restOk(await history(srv.url, room.id, b.chatter.id, { token: b.token }), 200, 'history');
    for (const content of forged) assert.ok(!stored.some((m) => m.content === content), `stored a forged alert: ${content}`);
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('B7: REST input validation (400 envelope, never a 500)', () => {
  const base = { namespace: 'anonymous', title: '방', capacity: 4, isPassword: false };
  const create = (body) => api(srv.url, 'POST', '/chat/rooms', body);

  test('title: 30 characters (Korean, 90 bytes) accepted; 31 refused; empty or missing refused', async () => {
    restOk(await create({ ...base, title: '가'.repeat(30) }), 201, '30-char title');
    restError(await create({ ...base, title: '가'.repeat(31) }), 'BAD_REQUEST', '31-char title');
    restError(await create({ ...base, title: '' }), 'BAD_REQUEST', 'empty title');
    const { title, ...noTitle } = base;
    restError(await create(noTitle), 'BAD_REQUEST', 'missing title');
    restError(await create({ ...base, title: 42 }), 'BAD_REQUEST', 'numeric title');
  });

  test('capacity must be a positive integer: 0, -1, "4", 1.5, null and missing refused; 2 and 16 accepted', async () => {
    for (const capacity of [0, -1, '4', 1.5, null]) {
      restError(await create({ ...base, capacity }), 'BAD_REQUEST', `capacity ${JSON.stringify(capacity)}`);
    }
    const { capacity, ...noCapacity } = base;
    restError(await create(noCapacity), 'BAD_REQUEST', 'missing capacity');
    for (const capacity of [2, 16]) restOk(await create({ ...base, capacity }), 201, `capacity ${capacity}`);
  });

  test('password: 12 characters accepted, 13 refused', async () => {
    restOk(await create({ ...base, isPassword: true, password: '비'.repeat(12) }), 201, '12-char password');
    restError(await create({ ...base, isPassword: true, password: 'p'.repeat(13) }), 'BAD_REQUEST', '13-char password');
  });

  test('namespace missing or isPassword not a boolean → 400', async () => {
    const { namespace, ...noNs } = base;
    restError(await create(noNs), 'BAD_REQUEST', 'missing namespace');
    restError(await create({ ...base, isPassword: 'false' }), 'BAD_REQUEST', 'isPassword as a string');
  });

  test('malformed bodies → 400 envelope: invalid JSON, a JSON array, invalid UTF-8, an empty body', async () => {
    restError(await api(srv.url, 'POST', '/chat/rooms', '{"title": "x", '), 'BAD_REQUEST', 'invalid JSON');
    restError(await api(srv.url, 'POST', '/chat/rooms', '[1,2,3]'), 'BAD_REQUEST', 'JSON array');
    const badUtf8 = Buffer.concat([
      Buffer.from('{"namespace":"anonymous","title":"'), Buffer.from([0xff, 0xfe]),
      Buffer.from('","capacity":4,"isPassword":false}'),
    ]);
    restError(await api(srv.url, 'POST', '/chat/rooms', badUtf8), 'BAD_REQUEST', 'invalid UTF-8');
    restError(await api(srv.url, 'POST', '/chat/rooms', ''), 'BAD_REQUEST', 'empty body');
  });

  test('nickname: 10 characters accepted; 11, empty, missing or not a string refused; unknown chatter 404', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const rename = (body) => api(srv.url, 'PATCH', `/chat/chatters/${a.chatter.id}/nickname`, body, bearer(a.token));
    assert.equal(restOk(await rename({ nickname: '닉'.repeat(10) }), 200, '10 chars').nickname, '닉'.repeat(10));
    restError(await rename({ nickname: '닉'.repeat(11) }), 'BAD_REQUEST', '11 chars');
    restError(await rename({ nickname: '' }), 'BAD_REQUEST', 'empty');
    restError(await rename({}), 'BAD_REQUEST', 'missing');
    restError(await rename({ nickname: 7 }), 'BAD_REQUEST', 'number');
    restError(await rename('{oops'), 'BAD_REQUEST', 'invalid JSON');
    const unknown = await api(srv.url, 'PATCH', '/chat/chatters/11111111-1111-4111-8111-111111111111/nickname', { nickname: 'x' }, bearer(a.token));
    assert.ok(unknown.status === 404 || unknown.status === 403, `unknown chatter: status ${unknown.status}`);
    restError(unknown, unknown.status === 404 ? 'CHATTER_NOT_FOUND' : 'FORBIDDEN', 'unknown chatter');
    await disconnect(a.socket);
  });

  test('a 2 MB body is refused with an envelope (413 PAYLOAD_TOO_LARGE or 400), never a 500', async () => {
    const huge = JSON.stringify({ namespace: 'anonymous', title: 'x'.repeat(2_000_000), capacity: 4, isPassword: false });
    const res = await api(srv.url, 'POST', '/chat/rooms', huge);
    assert.ok(res.status === 413 || res.status === 400, `status ${res.status}`);
    restError(res, res.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', '2 MB body');
    if (res.status === 413) assert.equal(res.body.message, '요청이 너무 큽니다.');
  });

  test('access-check with a non-string password or invalid JSON → 400', async () => {
    const room = await createRoom(srv.url, { password: 'pw' });
    restError(await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, { password: 1234 }), 'BAD_REQUEST', 'numeric password');
    restError(await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, '{'), 'BAD_REQUEST', 'invalid JSON');
  });

  test('history: a non-numeric page or cursor → 400', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    restError(await history(srv.url, room.id, a.chatter.id, { page: 'abc', token: a.token }), 'BAD_REQUEST', 'page abc');
    restError(await history(srv.url, room.id, a.chatter.id, { page: 0, token: a.token }), 'BAD_REQUEST', 'page 0');
    restError(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { before: 'abc' } }), 'BAD_REQUEST', 'before abc');
    restError(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { after: '-1' } }), 'BAD_REQUEST', 'after -1');
    restError(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { before: 10, limit: 0 } }), 'BAD_REQUEST', 'limit 0');
    restError(await history(srv.url, room.id, a.chatter.id, { token: a.token, query: { before: 10, limit: 101 } }), 'BAD_REQUEST', 'limit 101');
    await disconnect(a.socket);
  });
});

describe('B7: socket input validation (error ack, connection kept)', () => {
  test('sendMessage content: 1000 characters accepted; 1001, empty, non-string refused with BAD_REQUEST', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const max = '말'.repeat(1000);
    assert.equal((await say(a.socket, room.id, max)).success, true, '1000 characters (3000 bytes) accepted');
    await waitFor(a.socket, 'sendMessage', (m) => m.content === max);
    for (const content of ['말'.repeat(1001), '', 123, null, { text: 'x' }, ['x']]) {
      socketError(await emitExpectingError(a.socket, 'sendMessage', { roomId: room.id, content }), 'BAD_REQUEST', `content ${JSON.stringify(content).slice(0, 20)}`);
    }
    const { content, ...missing } = { roomId: room.id, content: 'x' };
    socketError(await emitExpectingError(a.socket, 'sendMessage', missing), 'BAD_REQUEST', 'content missing');
    assert.ok(a.socket.connected, 'still connected after bad input');
    assert.equal((await say(a.socket, room.id, 'still here')).success, true);
    await disconnect(a.socket);
  });

  test('payloads of the wrong shape → BAD_REQUEST acks, never a dropped connection', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const cases = [
      ['sendMessage', 'just a string'],
      ['sendMessage', 42],
      ['sendMessage', null],
      ['sendMessage', { roomId: 7, content: 'x' }],
      ['sendAlert', 'x'],
      ['returnChatters', 'x'],
      ['joinRoom', 'x'],
      ['joinRoom', { chatterId: null }],
      ['joinRoom', { roomId: room.id, chatterId: 12 }],
    ];
    for (const [event, payload] of cases) {
      const res = await emitExpectingError(a.socket, event, payload);
      assert.ok(['BAD_REQUEST', 'ROOM_NOT_FOUND'].includes(res.ack.code),
        `${event} ${JSON.stringify(payload)}: code got ${res.ack.code}, want BAD_REQUEST`);
      socketError(res, res.ack.code, `${event} ${JSON.stringify(payload)}`);
    }
    const none = await emitAck(a.socket, 'sendMessage');
    assert.equal(none.success, false, 'sendMessage with no payload fails');
    assert.ok(a.socket.connected);
    assert.equal((await say(a.socket, room.id, 'ok')).success, true);
    await disconnect(a.socket);
  });

  test('joinRoom with an unknown chatterId: refused, or a fresh chatter — never that id, never a crash', async () => {
    const room = await createRoom(srv.url);
    const s = await connect(srv.url);
    const unknown = '11111111-1111-4111-8111-111111111111';
    const res = await emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: unknown, token: 'x' });
    if (res.ack.success) {
      assert.notEqual(res.ack.data.id, unknown, 'a client may not choose its chatter id');
    } else {
      assert.ok(['CHATTER_NOT_FOUND', 'FORBIDDEN'].includes(res.ack.code), `code got ${res.ack.code}`);
      socketError(res, res.ack.code, 'unknown chatter join');
    }
    const health = await api(srv.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    await disconnect(s);
  });

  test('a large message is refused without losing the connection (PAYLOAD_TOO_LARGE or BAD_REQUEST)', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const res = await emitExpectingError(a.socket, 'sendMessage', { roomId: room.id, content: 'x'.repeat(50_000) });
    assert.ok(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE'].includes(res.ack.code), `code got ${res.ack.code}`);
    assert.ok(a.socket.connected);
    await disconnect(a.socket);
  });
});

describe('rate limits (loopback not exempt)', () => {
  test('many wrong passwords on one room → 429 RATE_LIMITED envelope', async () => {
    const limited = await startServer({ identity: 'strict', rateLimitExempt: null, messageRate: null, joinRate: null });
    const room = await createRoom(limited.url, { password: 'right' });
    let res;
    for (let i = 0; i < 60; i++) {
      res = await api(limited.url, 'POST', `/chat/rooms/${room.id}/access-check`, { password: `wrong-${i}` });
      if (res.status === 429) break;
      assert.equal(res.status, 200, `attempt ${i}: ${res.status} ${res.text}`);
      assert.equal(res.body.data, null);
    }
    assert.equal(res.status, 429, 'no 429 after 60 wrong passwords');
    restError(res, 'RATE_LIMITED', 'too many wrong passwords', { status: 429 });
    assert.equal(res.body.message, '요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.');
    await limited.stop();
  });
});
