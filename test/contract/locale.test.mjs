// Contract part B10: server-made alert texts are Korean by default (exactly the original texts)
// and English with --locale en; both carry the structured `alert` field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, bearer, cleanup, connect, createRoom, disconnect, emitExpectingError, joinRoom, mark,
  startServer, waitFor,
} from '../lib/server.mjs';
import {
  HANGUL, TEXT, assertErrorEnvelope, isAlert, joinText, leaveText, renameText,
} from '../lib/contract.mjs';

let ko;
let en;
before(async () => {
  [ko, en] = await Promise.all([
    startServer({ identity: 'strict' }), // no --locale: the default must be Korean
    startServer({ identity: 'strict', locale: 'en' }),
  ]);
});
after(cleanup);

/** Joins, renames and leaves one chatter while a watcher records the alerts. */
async function alertTour(url, newNick) {
  const room = await createRoom(url);
  const watcher = await joinRoom(url, room.id);
  const since = mark(watcher.socket);
  const a = await joinRoom(url, room.id);
  const join = await waitFor(watcher.socket, 'sendAlert', isAlert('join', a.chatter.id), { since });
  // The success text may be localized too, so only status and success are checked here.
  const res = await api(url, 'PATCH', `/chat/chatters/${a.chatter.id}/nickname`, { nickname: newNick }, bearer(a.token));
  assert.equal(res.status, 200, `rename: ${res.text}`);
  assert.equal(res.body.success, true);
  const rename = await waitFor(watcher.socket, 'sendAlert', isAlert('rename', a.chatter.id), { since });
  await disconnect(a.socket);
  const leave = await waitFor(watcher.socket, 'sendAlert', isAlert('leave', a.chatter.id), { since, timeout: 5000 });
  await disconnect(watcher.socket);
  return { oldNick: a.chatter.nickname, join, rename, leave };
}

/** The structured alert carries at least these fields (docs/protocol.md; more are allowed). */
function assertAlert(message, want) {
  assert.equal(typeof message.alert, 'object', `no alert field on ${JSON.stringify(message)}`);
  for (const [k, v] of Object.entries(want)) {
    assert.equal(message.alert[k], v, `alert.${k} got ${JSON.stringify(message.alert[k])}, want ${JSON.stringify(v)}`);
  }
  if (!('newNickname' in want)) assert.ok(!message.alert.newNickname, 'newNickname only on rename alerts');
}

describe('B10 locale', () => {
  test('default (ko): the original Korean texts, and the structured alert field', async () => {
    const { oldNick, join, rename, leave } = await alertTour(ko.url, '환타');
    assert.equal(join.content, joinText(oldNick));
    assertAlert(join, { kind: 'join', nickname: oldNick });
    assert.equal(rename.content, renameText(oldNick, '환타'));
    assertAlert(rename, { kind: 'rename', nickname: oldNick, newNickname: '환타' });
    assert.equal(leave.content, leaveText('환타'));
    assertAlert(leave, { kind: 'leave', nickname: '환타' });
  });

  test('en: English alert texts naming the chatter, the same structured alert field', async () => {
    const { oldNick, join, rename, leave } = await alertTour(en.url, 'Fanta');
    for (const [m, kind, nick] of [[join, 'join', oldNick], [rename, 'rename', oldNick], [leave, 'leave', 'Fanta']]) {
      assert.equal(m.alert.kind, kind);
      assert.equal(m.alert.nickname, nick);
      assert.ok(m.content.includes(nick), `${kind} alert ${JSON.stringify(m.content)} does not name ${nick}`);
      const rest = m.content.split(oldNick).join('').split('Fanta').join('');
      assert.ok(!HANGUL.test(rest), `${kind} alert is not English: ${JSON.stringify(m.content)}`);
      assert.match(rest, /[A-Za-z]{2,}/, `${kind} alert has no English words: ${JSON.stringify(m.content)}`);
    }
    assert.equal(rename.alert.newNickname, 'Fanta');
    assert.ok(rename.content.includes('Fanta'));
    assert.notEqual(join.content, joinText(oldNick));
  });

  test('en: error messages are English too, with the same codes', async () => {
    const res = await api(en.url, 'GET', '/chat/rooms/00000000-0000-4000-8000-000000000000');
    assert.equal(res.status, 404);
    assertErrorEnvelope(res.body, 'ROOM_NOT_FOUND', 'en 404', { locale: 'en' });
    assert.notEqual(res.body.message, TEXT.ROOM_NOT_FOUND);
    assert.ok(!HANGUL.test(res.body.message), `en error message is Korean: ${res.body.message}`);

    const s = await connect(en.url);
    const { ack, messageEvent } = await emitExpectingError(s, 'joinRoom', { roomId: '00000000-0000-4000-8000-000000000000', chatterId: null });
    assertErrorEnvelope(ack, 'ROOM_NOT_FOUND', 'en socket error', { locale: 'en' });
    assert.ok(!HANGUL.test(ack.message));
    assert.deepEqual(messageEvent, ack);
    await disconnect(s);
  });
});
