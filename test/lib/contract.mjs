// Texts and shape checks taken from the wire contract (docs/contract.md part A and
// docs/protocol.md), shared by the contract tests.
import assert from 'node:assert/strict';

export const OK = '요청이 성공적으로 처리되었습니다.';

// Korean (default locale) messages per code, docs/protocol.md.
export const TEXT = {
  BAD_REQUEST: '요청된 데이터가 올바르지 않습니다.',
  ROOM_NOT_FOUND: '채팅방이 존재하지 않습니다.',
  ROOM_EXPIRED: '채팅이 만료되어 더 이상 사용할 수 없습니다.',
  ROOM_FULL: '채팅방 인원수가 가득차서 입장할 수 없습니다.',
  CHATTER_NOT_FOUND: '채팅 참여자를 찾을 수 없습니다.',
  PASSWORD_REQUIRED: '비밀번호가 필요합니다.',
  WRONG_PASSWORD: '비밀번호가 올바르지 않습니다.',
  FORBIDDEN: '권한이 없습니다.',
  NOT_JOINED: '채팅방에 입장하지 않았습니다.',
  NAMESPACE_MISMATCH: '채팅방이 이 네임스페이스에 속하지 않습니다.',
  ALERT_FORBIDDEN: '시스템 알림은 서버만 보낼 수 있습니다.',
  NICKNAME_TAKEN: '이 채팅방에서 이미 사용 중인 닉네임입니다.',
  RATE_LIMITED: '요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.',
  PAYLOAD_TOO_LARGE: '요청이 너무 큽니다.',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

export const STATUS = {
  BAD_REQUEST: 400,
  ROOM_NOT_FOUND: 404,
  ROOM_EXPIRED: 404,
  ROOM_FULL: 404,
  CHATTER_NOT_FOUND: 404,
  PASSWORD_REQUIRED: 403,
  WRONG_PASSWORD: 403,
  FORBIDDEN: 403,
  NOT_JOINED: 403,
  NAMESPACE_MISMATCH: 400,
  ALERT_FORBIDDEN: 403,
  NICKNAME_TAKEN: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

export const NICKNAMES = ['개구리', '메뚜기', '멸치', '너구리', '코끼리', '올빼미'];

export const joinText = (nick) => `${nick}님이 입장했습니다.`;
export const leaveText = (nick) => `${nick}님이 퇴장했습니다.`;
export const renameText = (oldNick, newNick) => `${oldNick}님의 닉네임이 ${newNick}로 변경되었습니다.`;

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const HANGUL = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/;

/** A success envelope: {success: true, message: OK, data}. Returns data. */
export function okData(envelope, what = 'envelope') {
  assert.equal(typeof envelope, 'object', `${what}: got ${JSON.stringify(envelope)}, want an envelope object`);
  assert.equal(envelope.success, true, `${what}: got ${JSON.stringify(envelope)}, want success true`);
  assert.equal(envelope.message, OK, `${what}: message got ${JSON.stringify(envelope.message)}, want ${OK}`);
  assert.ok('data' in envelope, `${what}: envelope has no data field: ${JSON.stringify(envelope)}`);
  return envelope.data;
}

/** A REST success: status and the success envelope. Returns data. */
export function restOk(res, status = 200, what = 'response') {
  assert.equal(res.status, status, `${what}: status got ${res.status}, want ${status}; body ${res.text}`);
  assert.match(String(res.headers['content-type']), /application\/json/, `${what}: content-type ${res.headers['content-type']}`);
  return okData(res.body, what);
}

/**
 * A failure envelope {success:false, message, data:null, code}. `message` is matched exactly,
 * except BAD_REQUEST whose text may be followed by a more precise one (docs/protocol.md).
 * opts.locale 'en' skips the Korean text check (English texts are not fixed by the contract).
 */
export function assertErrorEnvelope(envelope, code, what = 'error', opts = {}) {
  assert.equal(typeof envelope, 'object', `${what}: got ${JSON.stringify(envelope)}, want an envelope object`);
  assert.equal(envelope.success, false, `${what}: got ${JSON.stringify(envelope)}, want success false`);
  assert.equal(envelope.data, null, `${what}: data got ${JSON.stringify(envelope.data)}, want null`);
  assert.equal(envelope.code, code, `${what}: code got ${envelope.code}, want ${code}; envelope ${JSON.stringify(envelope)}`);
  assert.equal(typeof envelope.message, 'string', `${what}: message is not a string`);
  assert.ok(envelope.message.length > 0, `${what}: empty message`);
  if (opts.locale === 'en') return;
  const want = TEXT[code];
  if (!want) return;
  if (code === 'BAD_REQUEST') {
    assert.ok(envelope.message.startsWith(want), `${what}: message got ${JSON.stringify(envelope.message)}, want it to start with ${want}`);
  } else {
    assert.equal(envelope.message, want, `${what}: message got ${JSON.stringify(envelope.message)}, want ${want}`);
  }
}

/** A REST failure with the code's HTTP status and JSON envelope. */
export function restError(res, code, what = 'response', opts = {}) {
  const status = opts.status ?? STATUS[code];
  assert.equal(res.status, status, `${what}: status got ${res.status}, want ${status}; body ${res.text}`);
  assert.match(String(res.headers['content-type']), /application\/json/, `${what}: content-type ${res.headers['content-type']}; body ${res.text}`);
  assertErrorEnvelope(res.body, code, what, opts);
}

/** A socket failure: the ack envelope, and the same envelope as the `message` event's JSON. */
export function socketError({ ack, messageEvent }, code, what = 'event', opts = {}) {
  assertErrorEnvelope(ack, code, `${what} ack`, opts);
  assert.ok(messageEvent, `${what}: no "message" event with the error`);
  assert.deepEqual(messageEvent, ack, `${what}: "message" event got ${JSON.stringify(messageEvent)}, want the ack envelope ${JSON.stringify(ack)}`);
}

/** Never a password, a hash or a token anywhere in a value sent to clients. */
export function assertNoSecrets(value, what = 'value', secrets = []) {
  const walk = (v, where) => {
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, `${where}[${i}]`)); return; }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        assert.ok(!/^(password|passwordHash|hash|tokenHash)$/i.test(k), `${what}: field ${where}.${k} must never be sent`);
        walk(x, `${where}.${k}`);
      }
      return;
    }
    if (typeof v === 'string') {
      assert.ok(!/^\$2[aby]\$\d\d\$/.test(v), `${what}: ${where} looks like a bcrypt hash`);
    }
  };
  walk(value, what);
  const text = JSON.stringify(value);
  for (const s of secrets) {
    if (s) assert.ok(!text.includes(s), `${what}: contains a secret (${s.slice(0, 4)}…)`);
  }
}

export function assertRoom(room, expect = {}) {
  assert.equal(typeof room, 'object');
  assert.match(room.id, UUID, `room.id got ${room.id}, want a uuid`);
  for (const k of ['title', 'namespace']) assert.equal(typeof room[k], 'string', `room.${k}`);
  assert.ok(Number.isInteger(room.capacity), `room.capacity got ${room.capacity}`);
  assert.match(room.createdAt, ISO_MS, `room.createdAt got ${room.createdAt}`);
  assert.match(room.expiresAt, ISO_MS, `room.expiresAt got ${room.expiresAt}`);
  assert.equal(typeof room.isPassword, 'boolean', 'room.isPassword');
  assert.equal(typeof room.isExpired, 'boolean', 'room.isExpired');
  assert.ok('userId' in room, 'room.userId missing');
  assert.equal(room.userId, null, 'room.userId');
  assertNoSecrets(room, 'room');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(room[k], v, `room.${k} got ${JSON.stringify(room[k])}, want ${JSON.stringify(v)}`);
}

export function assertChatter(c, expect = {}) {
  assert.equal(typeof c, 'object', `chatter got ${JSON.stringify(c)}`);
  assert.equal(typeof c.id, 'string', 'chatter.id');
  assert.ok(c.id.length > 0, 'chatter.id empty');
  assert.equal(typeof c.nickname, 'string', 'chatter.nickname');
  assert.match(c.createdAt, ISO_MS, `chatter.createdAt got ${c.createdAt}`);
  assert.ok('deletedAt' in c, 'chatter.deletedAt missing');
  assert.ok(c.deletedAt === null || ISO_MS.test(c.deletedAt), `chatter.deletedAt got ${c.deletedAt}`);
  assert.equal(typeof c.isActive, 'boolean', 'chatter.isActive');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(c[k], v, `chatter.${k} got ${JSON.stringify(c[k])}, want ${JSON.stringify(v)}`);
}

/** A stored message with its chatter embedded. expect: fields to compare exactly. */
export function assertMessage(m, expect = {}) {
  assert.equal(typeof m, 'object', `message got ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.id), `message.id got ${JSON.stringify(m.id)}, want an integer`);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `message.seq got ${JSON.stringify(m.seq)}, want a position from 1`);
  assert.ok(m.type === 'MESSAGE' || m.type === 'ALERT', `message.type got ${m.type}`);
  assert.equal(typeof m.content, 'string', 'message.content');
  assert.match(m.sentAt, ISO_MS, `message.sentAt got ${m.sentAt}`);
  assert.equal(typeof m.roomId, 'string', 'message.roomId');
  assert.equal(typeof m.chatterId, 'string', 'message.chatterId');
  assertChatter(m.chatter);
  assert.equal(m.chatter.id, m.chatterId, 'message.chatter.id must equal message.chatterId');
  assertNoSecrets(m, 'message');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(m[k], v, `message.${k} got ${JSON.stringify(m[k])}, want ${JSON.stringify(v)}`);
}

/** Is this message a server alert of `kind` about chatterId? */
export const isAlert = (kind, chatterId) => (m) =>
  m && m.type === 'ALERT' && m.alert?.kind === kind && (chatterId === undefined || m.chatterId === chatterId);
