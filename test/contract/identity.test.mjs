// Contract part B2 (entry rules enforced at join: capacity, password, ticket) and B3 (no
// impersonation: chatter tokens), in strict mode, plus the compat switch for comparison.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, bearer, cleanup, connect, createRoom, disconnect, emitExpectingError, emitJoin, history,
  joinRoom, mark, say, startServer, waitFor,
} from '../lib/server.mjs';
import {
  assertChatter, assertNoSecrets, isAlert, okData, restError, restOk, socketError,
} from '../lib/contract.mjs';

let strict;
let compat;
before(async () => {
  [strict, compat] = await Promise.all([
    startServer({ identity: 'strict' }),
    startServer({ identity: 'compat' }),
  ]);
});
after(cleanup);

const accessCheck = (url, roomId, body = {}) => api(url, 'POST', `/chat/rooms/${roomId}/access-check`, body);

describe('B3 strict identity: tokens', () => {
  test('the joinRoom ack carries a token for this socket only: never in a broadcast or a REST answer', async () => {
    const room = await createRoom(strict.url);
    const b = await joinRoom(strict.url, room.id);
    const a = await joinRoom(strict.url, room.id);
    assertChatter(a.chatter);
    assert.equal(typeof a.token, 'string', `ack data.token got ${JSON.stringify(a.token)}`);
    assert.ok(a.token.length >= 16, 'a token long enough to be a secret');
    assert.notEqual(a.token, b.token, 'each chatter has its own token');

    assert.equal((await say(a.socket, room.id, 'hello')).success, true);
    await waitFor(b.socket, 'sendMessage', (m) => m.content === 'hello');
    await waitFor(b.socket, 'returnChatters', (l) => l.some((c) => c.id === a.chatter.id));
    for (const s of [a.socket, b.socket]) {
      for (const e of s.log) assertNoSecrets(e.args, `broadcast ${e.event}`, [a.token, b.token]);
    }
    const detail = await api(strict.url, 'GET', `/chat/rooms/${room.id}`);
    assertNoSecrets(detail.body, 'room detail', [a.token, b.token]);
    const hist = await history(strict.url, room.id, b.chatter.id, { token: b.token });
    assertNoSecrets(restOk(hist, 200, 'history'), 'history', [a.token, b.token]);
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('rejoining as an existing chatter: no token or a wrong token → FORBIDDEN; the right token → the same chatter', async () => {
    const room = await createRoom(strict.url);
    const a = await joinRoom(strict.url, room.id);
    const other = await joinRoom(strict.url, room.id);
    const thief = await connect(strict.url);
    socketError(await emitExpectingError(thief, 'joinRoom', { roomId: room.id, chatterId: a.chatter.id }), 'FORBIDDEN', 'rejoin without token');
    socketError(await emitExpectingError(thief, 'joinRoom', { roomId: room.id, chatterId: a.chatter.id, token: 'not-the-token' }), 'FORBIDDEN', 'rejoin with a wrong token');
    socketError(await emitExpectingError(thief, 'joinRoom', { roomId: room.id, chatterId: a.chatter.id, token: other.token }), 'FORBIDDEN', 'rejoin with another chatter\'s token');
    // The refused socket did not join: it may not send as anyone.
    assert.equal((await say(thief, room.id, 'as a?')).success, false);

    const again = await connect(strict.url);
    const c = okData(await emitJoin(again, room.id, { chatterId: a.chatter.id, token: a.token }), 'rejoin with token');
    assert.equal(c.id, a.chatter.id);
    assert.equal(c.nickname, a.chatter.nickname);
    await Promise.all([a.socket, other.socket, thief, again].map(disconnect));
  });

  test('PATCH nickname needs Authorization: Bearer <token> (403 without or with a wrong one)', async () => {
    const room = await createRoom(strict.url);
    const a = await joinRoom(strict.url, room.id);
    const b = await joinRoom(strict.url, room.id);
    const path = `/chat/chatters/${a.chatter.id}/nickname`;
    restError(await api(strict.url, 'PATCH', path, { nickname: '해커' }), 'FORBIDDEN', 'rename without token');
    restError(await api(strict.url, 'PATCH', path, { nickname: '해커' }, bearer('wrong')), 'FORBIDDEN', 'rename with a wrong token');
    restError(await api(strict.url, 'PATCH', path, { nickname: '해커' }, bearer(b.token)), 'FORBIDDEN', 'rename with another chatter\'s token');
    restError(await api(strict.url, 'PATCH', path, { nickname: '해커' }, { Authorization: a.token }), 'FORBIDDEN', 'token without the Bearer scheme');
    const ok = restOk(await api(strict.url, 'PATCH', path, { nickname: '진짜' }, bearer(a.token)), 200, 'rename with token');
    assertChatter(ok, { id: a.chatter.id, nickname: '진짜' });
    await disconnect(a.socket);
    await disconnect(b.socket);
  });

  test('history needs the chatter\'s token (403 without or with a wrong one)', async () => {
    const room = await createRoom(strict.url);
    const a = await joinRoom(strict.url, room.id);
    const b = await joinRoom(strict.url, room.id);
    assert.equal((await say(a.socket, room.id, 'secret talk')).success, true);
    restError(await history(strict.url, room.id, a.chatter.id), 'FORBIDDEN', 'history without token');
    restError(await history(strict.url, room.id, a.chatter.id, { token: b.token }), 'FORBIDDEN', 'history with another token');
    restError(await history(strict.url, room.id, a.chatter.id, { token: b.token, query: { after: 0 } }), 'FORBIDDEN', 'cursor with another token');
    const page = restOk(await history(strict.url, room.id, a.chatter.id, { token: a.token }), 200, 'history with token');
    assert.ok(page.some((m) => m.content === 'secret talk'));
    await disconnect(a.socket);
    await disconnect(b.socket);
  });
});

describe('B2 password rooms at join', () => {
  test('strict: a new chatter needs the password or a ticket of that room; none → PASSWORD_REQUIRED, wrong → WRONG_PASSWORD', async () => {
    const room = await createRoom(strict.url, { password: 'letmein' });
    const s = await connect(strict.url);
    socketError(await emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: null }), 'PASSWORD_REQUIRED', 'no password');
    socketError(await emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: null, password: 'nope' }), 'WRONG_PASSWORD', 'wrong password');
    const byPassword = okData(await emitJoin(s, room.id, { password: 'letmein' }), 'join with password');
    assertChatter(byPassword);

    const check = await accessCheck(strict.url, room.id, { password: 'letmein' });
    assert.equal(restOk(check, 200, 'access-check'), true);
    assert.equal(typeof check.body.ticket, 'string', `access-check must return a ticket beside data: ${check.text}`);
    const t = await connect(strict.url);
    const forged = await emitExpectingError(t, 'joinRoom', { roomId: room.id, chatterId: null, ticket: 'forged-ticket' });
    assert.equal(forged.ack.success, false, 'a forged ticket is refused');
    assert.ok(['PASSWORD_REQUIRED', 'WRONG_PASSWORD', 'FORBIDDEN'].includes(forged.ack.code), `code ${forged.ack.code}`);
    socketError(forged, forged.ack.code, 'forged ticket');
    const byTicket = okData(await emitJoin(t, room.id, { ticket: check.body.ticket }), 'join with ticket');
    assertChatter(byTicket);

    // A ticket is for its room only.
    const other = await createRoom(strict.url, { password: 'letmein' });
    const u = await connect(strict.url);
    const wrongRoom = await emitExpectingError(u, 'joinRoom', { roomId: other.id, chatterId: null, ticket: check.body.ticket });
    assert.equal(wrongRoom.ack.success, false, 'a ticket of another room is refused');

    await Promise.all([s, t, u].map(disconnect));
  });

  test('strict: a password-room member rejoins with chatterId + token and no password', async () => {
    const room = await createRoom(strict.url, { password: 'pw' });
    const a = await joinRoom(strict.url, room.id, { password: 'pw' });
    await disconnect(a.socket);
    const back = await connect(strict.url);
    const c = okData(await emitJoin(back, room.id, { chatterId: a.chatter.id, token: a.token }), 'rejoin with token only');
    assert.equal(c.id, a.chatter.id);
    await disconnect(back);
  });

  test('access-check with an empty password on a password room is falsy (strict and compat)', async () => {
    for (const srv of [strict, compat]) {
      const room = await createRoom(srv.url, { password: 'pw' });
      for (const body of [{}, { password: '' }]) {
        const res = await accessCheck(srv.url, room.id, body);
        assert.equal(restOk(res, 200, `access-check ${JSON.stringify(body)}`), null);
        assert.equal(res.body.ticket ?? undefined, undefined, 'no ticket for a refused check');
      }
    }
  });

  test('compat: password-less joins to a password room are accepted (the original client never sends one)', async () => {
    const room = await createRoom(compat.url, { password: 'pw' });
    const a = await joinRoom(compat.url, room.id);
    assertChatter(a.chatter);
    // And rejoin by id alone.
    const s = await connect(compat.url);
    assert.equal(okData(await emitJoin(s, room.id, { chatterId: a.chatter.id }), 'compat rejoin').id, a.chatter.id);
    await disconnect(a.socket);
    await disconnect(s);
  });
});

describe('B2 capacity at join', () => {
  test('parallel joins for the last seat: exactly one succeeds, the other gets ROOM_FULL', async () => {
    for (const srv of [strict, compat]) {
      const room = await createRoom(srv.url, { capacity: 2 });
      const first = await joinRoom(srv.url, room.id);
      const contenders = await Promise.all([connect(srv.url), connect(srv.url), connect(srv.url)]);
      const results = await Promise.all(contenders.map((s) => emitExpectingError(s, 'joinRoom', { roomId: room.id, chatterId: null })));
      const winners = results.filter((r) => r.ack.success);
      assert.equal(winners.length, 1, `${srv === strict ? 'strict' : 'compat'}: successes got ${winners.length}, want 1: ${JSON.stringify(results.map((r) => r.ack))}`);
      for (const r of results.filter((x) => !x.ack.success)) socketError(r, 'ROOM_FULL', 'losing join');
      // The losers are not in the room.
      for (const [i, s] of contenders.entries()) {
        if (results[i].ack.success) continue;
        assert.equal((await say(s, room.id, 'I lost')).success, false, 'a refused socket may not send');
      }
      const detail = restOk(await api(srv.url, 'GET', `/chat/rooms/${room.id}`), 200, 'detail');
      const active = detail.roomChatters.filter((rc) => rc.isActive);
      assert.equal(active.length, 2, `active roomChatters got ${active.length}, want 2`);
      await Promise.all([first.socket, ...contenders].map(disconnect));
    }
  });

  test('a returning chatter is not counted twice: a second tab and a rejoin fit in a full room', async () => {
    const room = await createRoom(strict.url, { capacity: 2 });
    const a = await joinRoom(strict.url, room.id);
    const b = await joinRoom(strict.url, room.id);
    const outsider = await connect(strict.url);
    socketError(await emitExpectingError(outsider, 'joinRoom', { roomId: room.id, chatterId: null }), 'ROOM_FULL', 'third chatter');

    const secondTab = await connect(strict.url);
    const c = okData(await emitJoin(secondTab, room.id, { chatterId: a.chatter.id, token: a.token }), 'second tab of a member');
    assert.equal(c.id, a.chatter.id);
    // The full room still says full to newcomers, with the exact original text.
    restError(await accessCheck(strict.url, room.id), 'ROOM_FULL', 'access-check on the full room');

    // A page reload of b in the full room (disconnect, rejoin within the grace) gets back in.
    await disconnect(b.socket);
    const reload = await connect(strict.url);
    const back = okData(await emitJoin(reload, room.id, { chatterId: b.chatter.id, token: b.token }), 'reload in a full room');
    assert.equal(back.id, b.chatter.id);
    await Promise.all([a.socket, outsider, secondTab, reload].map(disconnect));
  });

  test('a seat freed by a leave (after the grace) can be taken', async () => {
    const room = await createRoom(strict.url, { capacity: 2 });
    const a = await joinRoom(strict.url, room.id);
    const b = await joinRoom(strict.url, room.id);
    const since = mark(a.socket);
    await disconnect(b.socket);
    await waitFor(a.socket, 'sendAlert', isAlert('leave', b.chatter.id), { since, timeout: 5000 });
    const c = await joinRoom(strict.url, room.id);
    assertChatter(c.chatter);
    await disconnect(a.socket);
    await disconnect(c.socket);
  });
});
