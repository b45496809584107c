// Contract part A, REST routes, against `colachat --identity compat` (the unmodified original
// client's mode). Also CORS and "every answer is the JSON envelope".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALLOWED_ORIGIN, api, cleanup, createRoom, disconnect, history, joinRoom, mark, say,
  startServer, waitFor,
} from '../lib/server.mjs';
import {
  ISO_MS, TEXT, assertChatter, assertMessage, assertNoSecrets, assertRoom,
  isAlert, joinText, leaveText, restError, restOk,
} from '../lib/contract.mjs';

let srv;
before(async () => { srv = await startServer({ identity: 'compat' }); });
after(cleanup);

describe('POST /chat/rooms', () => {
  test('creates a room: 201, success envelope, the Room without any password field', async () => {
    const res = await api(srv.url, 'POST', '/chat/rooms', {
      namespace: 'anonymous', title: '처음 방', capacity: 4, isPassword: false,
    });
    const room = restOk(res, 201, 'create');
    assertRoom(room, { title: '처음 방', namespace: 'anonymous', capacity: 4, isPassword: false, isExpired: false });
    assert.ok(!('password' in room), 'created room must not carry a password field');
    const ttl = Date.parse(room.expiresAt) - Date.parse(room.createdAt);
    assert.equal(ttl, 24 * 3600 * 1000, `expiresAt - createdAt got ${ttl} ms, want one day`);
  });

  test('creates a password room: isPassword true, neither the password nor its hash returned', async () => {
    const res = await api(srv.url, 'POST', '/chat/rooms', {
      namespace: 'anonymous', title: '비밀 방', capacity: 2, isPassword: true, password: 'pw1234',
    });
    const room = restOk(res, 201, 'create password room');
    assertRoom(room, { isPassword: true, capacity: 2 });
    assert.ok(!res.text.includes('pw1234'), 'the plain password leaked into the answer');
  });

  test('isPassword without password → 400 요청된 데이터가 올바르지 않습니다.', async () => {
    const res = await api(srv.url, 'POST', '/chat/rooms', {
      namespace: 'anonymous', title: 't', capacity: 4, isPassword: true,
    });
    restError(res, 'BAD_REQUEST', 'isPassword without password');
  });

  test('password without isPassword → 400 요청된 데이터가 올바르지 않습니다.', async () => {
    const res = await api(srv.url, 'POST', '/chat/rooms', {
      namespace: 'anonymous', title: 't', capacity: 4, isPassword: false, password: 'pw',
    });
    restError(res, 'BAD_REQUEST', 'password without isPassword');
  });
});

describe('GET /chat/rooms', () => {
  test('lists rooms (success envelope, array of Rooms) and never a password or hash', async () => {
    const a = await createRoom(srv.url, { title: '목록 A' });
    const b = await createRoom(srv.url, { title: '목록 B', password: 'secret12' });
    const res = await api(srv.url, 'GET', '/chat/rooms');
    const rooms = restOk(res, 200, 'list');
    assert.ok(Array.isArray(rooms), `data got ${JSON.stringify(rooms)}, want an array`);
    const ids = rooms.map((r) => r.id);
    assert.ok(ids.includes(a.id) && ids.includes(b.id), 'both new rooms listed');
    for (const r of rooms) assertRoom(r);
    assertNoSecrets(rooms, 'room list');
    assert.ok(!res.text.includes('secret12'), 'plain password leaked into the room list');
  });
});

describe('GET /chat/rooms/:roomId', () => {
  test('unknown id → 404 채팅방이 존재하지 않습니다. in the envelope', async () => {
    const res = await api(srv.url, 'GET', '/chat/rooms/00000000-0000-4000-8000-000000000000');
    restError(res, 'ROOM_NOT_FOUND', 'unknown room');
  });

  test('returns the Room with roomChatters (the online members), no password or hash anywhere', async () => {
    const room = await createRoom(srv.url, { title: '상세', password: 'pw99' });
    const { socket, chatter } = await joinRoom(srv.url, room.id);
    const res = await api(srv.url, 'GET', `/chat/rooms/${room.id}`);
    const data = restOk(res, 200, 'detail');
    assertRoom(data, { id: room.id, title: '상세', isPassword: true });
    assert.ok(Array.isArray(data.roomChatters), `roomChatters got ${JSON.stringify(data.roomChatters)}`);
    const mine = data.roomChatters.find((rc) => rc.chatterId === chatter.id);
    assert.ok(mine, `roomChatters ${JSON.stringify(data.roomChatters)} lacks the joined chatter ${chatter.id}`);
    assert.equal(mine.roomId, room.id);
    assert.equal(mine.isActive, true);
    assert.match(mine.joinedAt, ISO_MS);
    assertNoSecrets(data, 'room detail');
    assert.ok(!res.text.includes('pw99'), 'plain password leaked');

    // After the chatter has left (its leave alert is out), it is no longer an active member.
    const watcher = await joinRoom(srv.url, room.id);
    const since = mark(watcher.socket);
    await disconnect(socket);
    await waitFor(watcher.socket, 'sendAlert', isAlert('leave', chatter.id), { since, timeout: 5000 });
    const later = restOk(await api(srv.url, 'GET', `/chat/rooms/${room.id}`), 200, 'detail after leave');
    assert.ok(!later.roomChatters.some((rc) => rc.chatterId === chatter.id && rc.isActive),
      `roomChatters still lists the departed chatter as active: ${JSON.stringify(later.roomChatters)}`);
    assert.ok(later.roomChatters.some((rc) => rc.chatterId === watcher.chatter.id));
    await disconnect(watcher.socket);
  });

  test('online (addition) counts the chatters online now, what the capacity counts', async () => {
    const room = await createRoom(srv.url, { capacity: 2 });
    const online = async () => restOk(await api(srv.url, 'GET', `/chat/rooms/${room.id}`), 200, 'detail').online;
    assert.equal(await online(), 0);
    const a = await joinRoom(srv.url, room.id);
    const b = await joinRoom(srv.url, room.id);
    assert.equal(await online(), 2, 'a full room');
    const since = mark(a.socket);
    await disconnect(b.socket);
    await waitFor(a.socket, 'sendAlert', isAlert('leave', b.chatter.id), { since, timeout: 5000 });
    assert.equal(await online(), 1);
    await disconnect(a.socket);
  });
});

describe('POST /chat/rooms/:roomId/access-check', () => {
  test('an open room → data true', async () => {
    const room = await createRoom(srv.url);
    const res = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, {});
    assert.equal(restOk(res, 200, 'access-check'), true);
  });

  test('a password room: right password → true; wrong or empty password → success true with data null', async () => {
    const room = await createRoom(srv.url, { password: 'open-sesame' });
    const right = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, { password: 'open-sesame' });
    assert.equal(restOk(right, 200, 'right password'), true);
    const wrong = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, { password: 'nope' });
    assert.equal(restOk(wrong, 200, 'wrong password'), null, 'a wrong password answers data null (the retry prompt)');
    const empty = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, {});
    assert.equal(restOk(empty, 200, 'no password'), null, 'a password room without a password answers data null');
  });

  test('unknown room → 404 채팅방이 존재하지 않습니다.', async () => {
    const res = await api(srv.url, 'POST', '/chat/rooms/00000000-0000-4000-8000-000000000000/access-check', {});
    restError(res, 'ROOM_NOT_FOUND', 'unknown room access-check');
  });

  test('online chatters reach capacity → 404 채팅방 인원수가 가득차서 입장할 수 없습니다.', async () => {
    const room = await createRoom(srv.url, { capacity: 2 });
    const a = await joinRoom(srv.url, room.id);
    const free = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, {});
    assert.equal(restOk(free, 200, 'one of two seats taken'), true);
    const b = await joinRoom(srv.url, room.id);
    const full = await api(srv.url, 'POST', `/chat/rooms/${room.id}/access-check`, {});
    restError(full, 'ROOM_FULL', 'full room access-check');
    assert.equal(full.body.message, TEXT.ROOM_FULL);
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('GET /chat/rooms/:roomId/:chatterId/reentry-check', () => {
  test('true while online, true within the grace after the last socket left, false afterwards', async () => {
    const room = await createRoom(srv.url);
    const watcher = await joinRoom(srv.url, room.id);
    const { socket, chatter } = await joinRoom(srv.url, room.id);
    const check = () => api(srv.url, 'GET', `/chat/rooms/${room.id}/${chatter.id}/reentry-check`);

    assert.equal(restOk(await check(), 200, 'online'), true, 'online chatter: want true');
    const since = mark(watcher.socket);
    await disconnect(socket);
    // Right after the disconnect the 1 s grace is running: a page reload relies on this.
    assert.equal(restOk(await check(), 200, 'in grace'), true, 'within the grace: want true');
    await waitFor(watcher.socket, 'sendAlert', isAlertText(leaveText(chatter.nickname)), { since, timeout: 5000 });
    const afterGrace = restOk(await check(), 200, 'after grace');
    assert.ok(!afterGrace, `after the leave alert: got ${JSON.stringify(afterGrace)}, want falsy`);
    await disconnect(watcher.socket);
  });

  test('the literal id "undefined" (first visit) gets a falsy answer', async () => {
    const room = await createRoom(srv.url);
    const res = await api(srv.url, 'GET', `/chat/rooms/${room.id}/undefined/reentry-check`);
    const data = restOk(res, 200, 'reentry undefined');
    assert.ok(!data, `got ${JSON.stringify(data)}, want falsy`);
  });
});

const isAlertText = (text) => (m) => m && m.type === 'ALERT' && m.content === text;

describe('GET /chat/messages/:roomId/:page/:chatterId', () => {
  test('20 a page, newest page first, oldest first within a page, from the chatter\'s join alert on', async () => {
    const room = await createRoom(srv.url);
    // An earlier member talks before A arrives: A must not see these.
    const early = await joinRoom(srv.url, room.id);
    for (let i = 0; i < 3; i++) assert.equal((await say(early.socket, room.id, `before-${i}`)).success, true);

    const a = await joinRoom(srv.url, room.id);
    const joinAlert = await waitFor(a.socket, 'sendAlert', isAlert('join', a.chatter.id));
    const sent = [];
    for (let i = 1; i <= 45; i++) {
      const content = `m${i}`;
      const ack = await say(a.socket, room.id, content);
      assert.equal(ack.success, true, `send ${content}: ${JSON.stringify(ack)}`);
      sent.push(content);
    }
    await waitFor(a.socket, 'sendMessage', (m) => m.content === 'm45');

    const page = async (n) => restOk(await history(srv.url, room.id, a.chatter.id, { page: n }), 200, `page ${n}`);
    const p1 = await page(1);
    const p2 = await page(2);
    const p3 = await page(3);
    const p4 = await page(4);
    assert.deepEqual(p1.map((m) => m.content), sent.slice(25, 45), 'page 1 = the newest 20, oldest first');
    assert.deepEqual(p2.map((m) => m.content), sent.slice(5, 25), 'page 2 = the 20 before');
    assert.deepEqual(p3.map((m) => m.content), [joinAlert.content, ...sent.slice(0, 5)],
      'page 3 = the join alert and the first 5: nothing from before the join');
    assert.deepEqual(p4, [], 'page 4 is empty');
    for (const m of [...p1, ...p2, ...p3]) assertMessage(m, { roomId: room.id });
    assert.deepEqual(p3[0].id, joinAlert.id);
    assert.equal(p3[0].type, 'ALERT');
    assert.equal(p3[0].alert?.kind, 'join', 'a stored server alert keeps its structured form');
    assert.equal(p3[1].type, 'MESSAGE');
    assert.equal(p3[1].chatter.id, a.chatter.id, 'each message embeds its chatter');

    // A newcomer sees only its own join alert on.
    const b = await joinRoom(srv.url, room.id);
    const bJoin = await waitFor(a.socket, 'sendAlert', isAlert('join', b.chatter.id));
    const bPage = restOk(await history(srv.url, room.id, b.chatter.id, { page: 1 }), 200, 'newcomer page 1');
    assert.deepEqual(bPage.map((m) => m.id), [bJoin.id], 'the newcomer sees only its join alert');
    assert.equal(bPage[0].content, joinText(b.chatter.nickname));

    await disconnect(early.socket);
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('without a chatterId → []', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    assert.equal((await say(a.socket, room.id, 'hello')).success, true);
    const res = await history(srv.url, room.id, undefined, { page: 1 });
    assert.deepEqual(restOk(res, 200, 'no chatterId'), []);
    await disconnect(a.socket);
  });

  test('an unknown chatterId never gets the whole history', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    assert.equal((await say(a.socket, room.id, 'private')).success, true);
    const res = await history(srv.url, room.id, '11111111-1111-4111-8111-111111111111', { page: 1 });
    assert.ok(res.status < 500, `status ${res.status}`);
    assert.equal(typeof res.body, 'object', `not a JSON envelope: ${res.text}`);
    const leaked = res.body.success && Array.isArray(res.body.data) && res.body.data.length > 0;
    assert.ok(!leaked, `unknown chatter got messages: ${res.text}`);
    await disconnect(a.socket);
  });

  test('an unknown room → 404 in the envelope', async () => {
    const res = await history(srv.url, '00000000-0000-4000-8000-000000000000', 'x', { page: 1 });
    restError(res, 'ROOM_NOT_FOUND', 'unknown room history');
  });
});

describe('PATCH /chat/chatters/:chatterId/nickname', () => {
  test('returns the updated Chatter', async () => {
    const room = await createRoom(srv.url);
    const a = await joinRoom(srv.url, room.id);
    const res = await api(srv.url, 'PATCH', `/chat/chatters/${a.chatter.id}/nickname`, { nickname: '새이름' });
    const c = restOk(res, 200, 'rename');
    assertChatter(c, { id: a.chatter.id, nickname: '새이름' });
    await disconnect(a.socket);
  });

  test('unknown chatter → 404 채팅 참여자를 찾을 수 없습니다.', async () => {
    const res = await api(srv.url, 'PATCH', '/chat/chatters/11111111-1111-4111-8111-111111111111/nickname', { nickname: '누구' });
    restError(res, 'CHATTER_NOT_FOUND', 'unknown chatter rename');
  });
});

describe('CORS and envelopes', () => {
  test('preflight from the allowed origin gets the CORS headers (JSON POST and PATCH with Authorization)', async () => {
    for (const [method, path] of [['POST', '/chat/rooms'], ['PATCH', '/chat/chatters/x/nickname'], ['GET', '/chat/rooms']]) {
      const res = await api(srv.url, 'OPTIONS', path, undefined, {
        Origin: ALLOWED_ORIGIN,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'content-type,authorization',
      });
      assert.ok(res.status === 200 || res.status === 204, `preflight ${method} ${path}: status ${res.status}`);
      assert.equal(res.headers['access-control-allow-origin'], ALLOWED_ORIGIN, `preflight ${method} ${path}: allow-origin`);
      const methods = String(res.headers['access-control-allow-methods'] ?? '').toUpperCase();
      assert.ok(methods.includes(method), `allow-methods ${methods} lacks ${method}`);
      const headers = String(res.headers['access-control-allow-headers'] ?? '').toLowerCase();
      assert.ok(headers.includes('content-type'), `allow-headers ${headers} lacks content-type`);
      assert.ok(headers.includes('authorization'), `allow-headers ${headers} lacks authorization`);
    }
  });

  test('actual answers (success and 404) carry Access-Control-Allow-Origin for the allowed origin', async () => {
    const ok = await api(srv.url, 'GET', '/chat/rooms', undefined, { Origin: ALLOWED_ORIGIN });
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    const missing = await api(srv.url, 'GET', '/chat/rooms/00000000-0000-4000-8000-000000000000', undefined, { Origin: ALLOWED_ORIGIN });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
  });

  test('another origin is not allowed', async () => {
    const res = await api(srv.url, 'OPTIONS', '/chat/rooms', undefined, {
      Origin: 'http://evil.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    });
    assert.notEqual(res.headers['access-control-allow-origin'], 'http://evil.example');
    assert.notEqual(res.headers['access-control-allow-origin'], '*');
  });

  // GET /chat/<id> is the web UI's room page (the original client's URL), so the unknown API
  // routes probed here are ones no page can have.
  test('an unknown /chat API route and a wrong method are answered with the JSON error envelope', async () => {
    for (const [method, path] of [['POST', '/chat/no-such-route'], ['GET', '/chat/rooms/a/b/c/d'], ['DELETE', '/chat/rooms'], ['PUT', '/chat/rooms/x']]) {
      const res = await api(srv.url, method, path);
      assert.ok(res.status === 404 || res.status === 405, `${method} ${path}: status ${res.status}`);
      assert.equal(typeof res.body, 'object', `${method} ${path}: body is not JSON: ${res.text}`);
      assert.equal(res.body.success, false);
      assert.equal(res.body.data, null);
      assert.equal(typeof res.body.message, 'string');
    }
  });
});

describe('operations routes', () => {
  test('GET /healthz, /readyz and /metrics answer 200; metrics in the Prometheus text format', async () => {
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
    assert.equal((await api(srv.url, 'GET', '/readyz')).status, 200);
    const metrics = await api(srv.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# (HELP|TYPE) /m);
  });
});
