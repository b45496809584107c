// Nicknames (docs/protocol.md "Nicknames"): unique among a room's people on rename as on
// join, never handed out again in the room once someone had them, and in the joiner's
// language (joinRoom `locale`, else the handshake's Accept-Language, else --locale).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, bearer, cleanup, connect, createRoom, disconnect, emitAck, joinRoom, mark, received,
  startServer, waitFor,
} from '../lib/server.mjs';
import { HANGUL, NICKNAMES, isAlert, joinText, okData, restError } from '../lib/contract.mjs';

let strict;
let compat;
let english;
before(async () => {
  [strict, compat, english] = await Promise.all([
    startServer({ identity: 'strict', leaveGrace: '100ms' }),
    startServer({ identity: 'compat' }),
    startServer({ identity: 'strict', locale: 'en' }),
  ]);
});
after(cleanup);

const rename = (url, chatter, nickname, token) =>
  api(url, 'PATCH', `/chat/chatters/${chatter.id}/nickname`, { nickname }, bearer(token));

const isEnglishName = (n) => typeof n === 'string' && /^[A-Za-z][A-Za-z0-9 ]*$/.test(n);
const isKoreanName = (n) => typeof n === 'string' && HANGUL.test(n);

describe('rename', () => {
  test('a nickname someone in the room has is refused with NICKNAME_TAKEN, and nothing is announced', async () => {
    const room = await createRoom(strict.url, { capacity: 4 });
    const a = await joinRoom(strict.url, room.id);
    const b = await joinRoom(strict.url, room.id);
    const since = mark(a.socket);
    const res = await rename(strict.url, b.chatter, a.chatter.nickname, b.token);
    restError(res, 'NICKNAME_TAKEN', 'rename to a name in use');
    // Another spelling of the same name is the same name to the people reading it.
    const enRoom = await createRoom(english.url);
    const en = await joinRoom(english.url, enRoom.id);
    const other = await joinRoom(english.url, enRoom.id);
    const loud = await rename(english.url, other.chatter, ` ${en.chatter.nickname.toUpperCase()} `, other.token);
    restError(loud, 'NICKNAME_TAKEN', 'rename to a name in use, other case', { locale: 'en' });
    assert.ok(!HANGUL.test(loud.body.message), `English server, Korean text: ${loud.body.message}`);

    // The refused rename changed nothing: b keeps its name, and a free name still works.
    const ok = await rename(strict.url, b.chatter, '콜라', b.token);
    assert.equal(okData(ok.body).nickname, '콜라');
    const alerts = await waitFor(a.socket, 'sendAlert', isAlert('rename', b.chatter.id), { since });
    assert.equal(alerts.alert.newNickname, '콜라');
    assert.equal(received(a.socket, 'sendAlert', since).filter((m) => m.alert?.kind === 'rename').length, 1);
  });

  test('the name of someone who left the room stays theirs: a rename to it is refused', async () => {
    const room = await createRoom(strict.url, { capacity: 4 });
    const stay = await joinRoom(strict.url, room.id);
    const gone = await joinRoom(strict.url, room.id);
    const since = mark(stay.socket);
    await disconnect(gone.socket);
    await waitFor(stay.socket, 'sendAlert', isAlert('leave', gone.chatter.id), { since, timeout: 5000 });
    restError(await rename(strict.url, stay.chatter, gone.chatter.nickname, stay.token), 'NICKNAME_TAKEN', 'rename to a departed name');
    // It comes back under its own name, which nobody took meanwhile.
    const back = await joinRoom(strict.url, room.id, { chatterId: gone.chatter.id, token: gone.token });
    assert.equal(back.chatter.nickname, gone.chatter.nickname);
  });

  test('compat mode: the original client renaming to a taken name gets the refusal', async () => {
    const room = await createRoom(compat.url, { capacity: 4 });
    const a = await joinRoom(compat.url, room.id);
    const b = await joinRoom(compat.url, room.id);
    restError(await rename(compat.url, b.chatter, a.chatter.nickname), 'NICKNAME_TAKEN', 'compat rename');
    assert.equal(okData((await rename(compat.url, b.chatter, '환타')).body).nickname, '환타');
  });
});

describe('names are not reused', () => {
  test('newcomers never get the name of anyone who was in the room, however many come and go', async () => {
    const room = await createRoom(strict.url, { capacity: 2 });
    const stay = await joinRoom(strict.url, room.id);
    const names = [stay.chatter.nickname];
    for (let i = 0; i < 24; i++) {
      const since = mark(stay.socket);
      const c = await joinRoom(strict.url, room.id);
      assert.ok(!names.includes(c.chatter.nickname), `newcomer ${i} got ${c.chatter.nickname}, already used in the room: ${names}`);
      names.push(c.chatter.nickname);
      await disconnect(c.socket);
      await waitFor(stay.socket, 'sendAlert', isAlert('leave', c.chatter.id), { since, timeout: 5000 });
    }
    // The first newcomers still get the original's names.
    assert.ok(names.slice(0, 6).every((n) => NICKNAMES.includes(n)), `first names: ${names.slice(0, 6)}`);
  });

  test('a name given up by a rename is not handed to a newcomer', async () => {
    const room = await createRoom(strict.url, { capacity: 16 });
    const a = await joinRoom(strict.url, room.id);
    const old = a.chatter.nickname;
    okData((await rename(strict.url, a.chatter, '사이다', a.token)).body);
    for (let i = 0; i < 6; i++) {
      const c = await joinRoom(strict.url, room.id);
      assert.notEqual(c.chatter.nickname, old, `newcomer ${i} got ${old}, which a had until its rename`);
    }
  });
});

describe('nickname language', () => {
  test('joinRoom locale "en" gets an English nickname; the stored alert text stays the server\'s', async () => {
    const room = await createRoom(strict.url, { capacity: 8 });
    const watcher = await joinRoom(strict.url, room.id);
    assert.ok(isKoreanName(watcher.chatter.nickname), `no locale: got ${watcher.chatter.nickname}, want Korean`);
    const since = mark(watcher.socket);
    const s = await connect(strict.url);
    const ack = await emitAck(s, 'joinRoom', { roomId: room.id, chatterId: null, locale: 'en' });
    const me = okData(ack, 'join with locale');
    assert.ok(isEnglishName(me.nickname), `locale en: got ${me.nickname}, want English`);
    const join = await waitFor(watcher.socket, 'sendAlert', isAlert('join', me.id), { since });
    assert.equal(join.content, joinText(me.nickname), 'the stored text is the server locale\'s (Korean)');
    assert.deepEqual({ kind: join.alert.kind, nickname: join.alert.nickname }, { kind: 'join', nickname: me.nickname });
    await disconnect(s);
  });

  test('without locale, the handshake\'s Accept-Language decides', async () => {
    const room = await createRoom(strict.url, { capacity: 8 });
    for (const [header, english] of [['en-US,en;q=0.9', true], ['fr-FR,fr;q=0.9,en;q=0.8,ko;q=0.5', true], ['ko-KR,ko;q=0.9,en;q=0.8', false]]) {
      const s = await connect(strict.url, 'anonymous', { extraHeaders: { 'Accept-Language': header } });
      const me = okData(await emitAck(s, 'joinRoom', { roomId: room.id, chatterId: null }));
      assert.equal(isEnglishName(me.nickname), english, `Accept-Language ${header}: got ${me.nickname}`);
      await disconnect(s);
    }
    // An explicit locale wins over the header.
    const s = await connect(strict.url, 'anonymous', { extraHeaders: { 'Accept-Language': 'en-US' } });
    const me = okData(await emitAck(s, 'joinRoom', { roomId: room.id, chatterId: null, locale: 'ko' }));
    assert.ok(isKoreanName(me.nickname), `locale ko over Accept-Language en: got ${me.nickname}`);
    await disconnect(s);
  });

  test('an English server names a Korean joiner in Korean; an unknown locale falls back to the server\'s', async () => {
    const room = await createRoom(english.url, { capacity: 8 });
    const ko = await connect(english.url);
    const me = okData(await emitAck(ko, 'joinRoom', { roomId: room.id, chatterId: null, locale: 'ko-KR' }));
    assert.ok(isKoreanName(me.nickname), `locale ko-KR: got ${me.nickname}`);
    const fr = await connect(english.url);
    const other = okData(await emitAck(fr, 'joinRoom', { roomId: room.id, chatterId: null, locale: 'fr' }));
    assert.ok(isEnglishName(other.nickname), `locale fr on an English server: got ${other.nickname}`);
    await disconnect(ko);
    await disconnect(fr);
  });

  test('a locale that is not a string is a BAD_REQUEST', async () => {
    const room = await createRoom(strict.url);
    const s = await connect(strict.url);
    const ack = await emitAck(s, 'joinRoom', { roomId: room.id, chatterId: null, locale: 42 });
    assert.equal(ack.success, false);
    assert.equal(ack.code, 'BAD_REQUEST');
    assert.match(ack.message, /locale/);
    await disconnect(s);
  });
});
