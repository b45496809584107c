#!/usr/bin/env node
// A small stand-in for the colachat binary, written from docs/contract.md and docs/protocol.md,
// used only to check that the contract tests and their harness work before the real binary
// exists:  COLACHAT_BIN=test/lib/fake-colachat.mjs node --test test/contract/
// It is not a reference implementation: it keeps everything in memory and appends every change
// to a JSON-lines file (fsync'd before an ack) at the --database-url path.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { Server } from 'socket.io';
import { Adapter } from 'socket.io-adapter';

// ---------------------------------------------------------------- config
function parseDuration(s) {
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  let matched = '';
  while ((m = re.exec(s)) !== null) {
    matched += m[0];
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
  }
  if (matched !== s) throw new Error(`bad duration ${s}`);
  return ms;
}

const argv = process.argv.slice(2);
if (argv[0] !== 'serve') {
  // Not a test file: `node --test` run from the repository root may load it; do nothing then.
  console.error('usage: fake-colachat.mjs serve --addr host:port --database-url sqlite://path ...');
  process.exit(0);
}
argv.shift();
const flags = {};
for (let i = 0; i < argv.length; i += 2) flags[argv[i].replace(/^--/, '')] = argv[i + 1];
const cfg = {
  addr: flags.addr ?? '127.0.0.1:3000',
  db: (flags['database-url'] ?? 'sqlite://colachat.db').replace(/^sqlite:\/\//, ''),
  strict: (flags.identity ?? 'strict') === 'strict',
  locale: flags.locale ?? 'ko',
  roomTtl: parseDuration(flags['room-ttl'] ?? '24h'),
  grace: parseDuration(flags['leave-grace'] ?? '1s'),
  retention: parseDuration(flags.retention ?? '24h'),
  recovery: parseDuration(flags['recovery-window'] ?? '2m'),
  origins: (flags['cors-origins'] ?? '').split(',').filter(Boolean),
  limitLoopback: !flags['rate-limit-exempt'],
};

// ---------------------------------------------------------------- texts
const KO = {
  OK: '요청이 성공적으로 처리되었습니다.',
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
  NOT_FOUND: '요청한 경로가 없습니다.',
  RATE_LIMITED: '요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.',
  join: (a) => `${a.nickname}님이 입장했습니다.`,
  leave: (a) => `${a.nickname}님이 퇴장했습니다.`,
  rename: (a) => `${a.nickname}님의 닉네임이 ${a.newNickname}로 변경되었습니다.`,
  expire: () => '채팅방이 만료되었습니다.',
};
const EN = {
  OK: 'The request was processed successfully.',
  BAD_REQUEST: 'The request data is invalid.',
  ROOM_NOT_FOUND: 'The chat room does not exist.',
  ROOM_EXPIRED: 'The chat has expired and can no longer be used.',
  ROOM_FULL: 'The chat room is full.',
  CHATTER_NOT_FOUND: 'Chatter not found.',
  PASSWORD_REQUIRED: 'A password is required.',
  WRONG_PASSWORD: 'Wrong password.',
  FORBIDDEN: 'Forbidden.',
  NOT_JOINED: 'You have not joined this room.',
  NAMESPACE_MISMATCH: 'The room does not belong to this namespace.',
  ALERT_FORBIDDEN: 'Only the server sends system alerts.',
  NOT_FOUND: 'No such route.',
  RATE_LIMITED: 'Too many requests.',
  join: (a) => `${a.nickname} joined.`,
  leave: (a) => `${a.nickname} left.`,
  rename: (a) => `${a.nickname} is now ${a.newNickname}.`,
  expire: () => 'This chat has expired.',
};
const T = cfg.locale === 'en' ? EN : KO;
// FAKE_BREAK=<name>[,<name>] plants a known defect, to check that the tests notice it.
const broken = new Set((process.env.FAKE_BREAK ?? '').split(',').filter(Boolean));
if (broken.has('no-grace')) cfg.grace = 0;
const STATUS = {
  BAD_REQUEST: 400, ROOM_NOT_FOUND: 404, ROOM_EXPIRED: 404, ROOM_FULL: 404, CHATTER_NOT_FOUND: 404,
  PASSWORD_REQUIRED: 403, WRONG_PASSWORD: 403, FORBIDDEN: 403, NOT_JOINED: 403,
  NAMESPACE_MISMATCH: 400, ALERT_FORBIDDEN: 403, NOT_FOUND: 404, METHOD: 405, RATE_LIMITED: 429,
};
class Refusal extends Error {
  constructor(code, detail) { super(code); this.code = code; this.detail = detail; }
}
const refuse = (code, detail) => { throw new Refusal(code, detail); };
const errEnvelope = (code, detail) => ({
  success: false,
  message: (T[code] ?? T.NOT_FOUND) + (detail ? ` (${detail})` : ''),
  data: null,
  code: code === 'METHOD' ? 'BAD_REQUEST' : code,
});
const okEnvelope = (data) => ({ success: true, message: T.OK, data: data || data === 0 ? data : null });

// ---------------------------------------------------------------- store
const rooms = new Map();
const chatters = new Map();
const memberships = new Map(); // `${roomId} ${chatterId}` -> RoomChatter
const messages = []; // ordered by id
let nextMessageId = 1;
let nextMembershipId = 1;
const sessions = new Map(); // pid -> session

function replay() {
  if (!fs.existsSync(cfg.db)) return;
  for (const line of fs.readFileSync(cfg.db, 'utf8').split('\n')) {
    if (!line) continue;
    let rec;
    try { rec = JSON.parse(line); } catch { continue; } // a torn last line after a crash
    const { op, v } = rec;
    if (op === 'room') rooms.set(v.id, v);
    else if (op === 'chatter') chatters.set(v.id, v);
    else if (op === 'rc') { memberships.set(`${v.roomId} ${v.chatterId}`, v); nextMembershipId = Math.max(nextMembershipId, v.id + 1); }
    else if (op === 'msg') { messages.push(v); nextMessageId = Math.max(nextMessageId, v.id + 1); }
    else if (op === 'session') sessions.set(v.pid, v);
    else if (op === 'purge') {
      rooms.delete(v);
      for (let i = messages.length - 1; i >= 0; i--) if (messages[i].roomId === v) messages.splice(i, 1);
    }
  }
}
replay();
const dbFd = fs.openSync(cfg.db, 'a');
function persist(op, v) {
  fs.writeSync(dbFd, JSON.stringify({ op, v }) + '\n');
  fs.fdatasyncSync(dbFd);
}

const now = () => new Date();
const iso = (d) => new Date(d).toISOString();
const hash = (s) => createHash('sha256').update(s).digest('hex');
const publicRoom = ({ passwordHash, ...r }) => (broken.has('leak-hash') ? { ...r, passwordHash } : r);
const publicChatter = (c) => (c ? {
  id: c.id, nickname: c.nickname, createdAt: c.createdAt, deletedAt: c.deletedAt, isActive: c.isActive,
  ...(broken.has('token-broadcast') ? { token: c.token } : {}),
} : null);
const SYSTEM = { id: 'system', nickname: 'system', createdAt: iso(0), deletedAt: null, isActive: true };
function publicMessage(m) {
  const out = { ...m, chatter: publicChatter(chatters.get(m.chatterId)) ?? SYSTEM };
  if (!m.alert) delete out.alert;
  return out;
}
function isExpired(room) {
  if (room.isExpired) return true;
  if (Date.now() >= Date.parse(room.expiresAt)) {
    room.isExpired = true;
    persist('room', room);
    return true;
  }
  return false;
}
function appendMessage(roomId, chatterId, type, content, alert) {
  const m = { id: nextMessageId++, type, content, sentAt: iso(now()), roomId, chatterId };
  if (alert) m.alert = alert;
  messages.push(m);
  if (broken.has('ack-early')) setTimeout(() => persist('msg', m), 20);
  else persist('msg', m);
  return m;
}

// ---------------------------------------------------------------- validation
const chars = (s) => [...s].length;
function requireString(v, field, max, { optional = false, allowEmpty = false } = {}) {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') refuse('BAD_REQUEST', `${field} must be a string`);
  if (!allowEmpty && v.length === 0) refuse('BAD_REQUEST', `${field} is required`);
  if (max && chars(v) > max) refuse('BAD_REQUEST', `${field} is longer than ${max}`);
  return v;
}
function requireObject(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) refuse('BAD_REQUEST', 'an object is required');
  return v;
}

// ---------------------------------------------------------------- presence
const online = new Map(); // roomId -> Map(chatterId -> Set(socketId))
const leaveTimers = new Map(); // `${roomId} ${chatterId}` -> timeout
const lastRename = new Map(); // chatterId -> content of the server's last rename alert
const tickets = new Map(); // ticket -> {roomId, exp}
const wrongAttempts = new Map(); // roomId -> wrong access-check passwords
let io;

const roomOnline = (roomId) => online.get(roomId) ?? new Map();
const isOnline = (roomId, chatterId) => (roomOnline(roomId).get(chatterId)?.size ?? 0) > 0;
function onlineChatters(roomId) {
  return [...roomOnline(roomId).keys()].map((id) => publicChatter(chatters.get(id))).filter(Boolean);
}
// Only namespaces a client has connected to exist; io.of() would create a detached one.
function nsOf(room) { return io._nsps.get(`/${room.namespace}`); }
function broadcast(room, event, payload) { nsOf(room)?.to(room.id).emit(event, payload); }
function alert(room, chatter, kind, extra = {}) {
  const a = { kind, nickname: chatter.nickname, ...extra };
  const m = appendMessage(room.id, chatter.id, 'ALERT', T[kind](a), a);
  broadcast(room, 'sendAlert', publicMessage(m));
  return m;
}
function addOnline(roomId, chatterId, socketId) {
  if (!online.has(roomId)) online.set(roomId, new Map());
  const r = online.get(roomId);
  if (!r.has(chatterId)) r.set(chatterId, new Set());
  r.get(chatterId).add(socketId);
}
function scheduleLeave(roomId, chatterId, socketId) {
  const set = roomOnline(roomId).get(chatterId);
  if (!set) return;
  set.delete(socketId);
  if (set.size > 0) return;
  const key = `${roomId} ${chatterId}`;
  clearTimeout(leaveTimers.get(key));
  leaveTimers.set(key, setTimeout(() => {
    leaveTimers.delete(key);
    if (isOnline(roomId, chatterId)) return;
    roomOnline(roomId).delete(chatterId);
    const room = rooms.get(roomId);
    const chatter = chatters.get(chatterId);
    if (!room || !chatter) return;
    chatter.isActive = false;
    chatter.deletedAt = iso(now());
    persist('chatter', chatter);
    const rc = memberships.get(key);
    if (rc) { rc.isActive = false; rc.leftAt = iso(now()); persist('rc', rc); }
    if (!room.isExpired) alert(room, chatter, 'leave');
    broadcast(room, 'returnChatters', onlineChatters(roomId));
  }, cfg.grace));
}

// ---------------------------------------------------------------- socket.io with store-backed recovery
class StoreAdapter extends Adapter {
  broadcast(packet, opts) {
    if (!broken.has('no-offset') && packet.type === 2 && packet.id === undefined && ['sendMessage', 'sendAlert'].includes(packet.data[0])) {
      packet.data.push(String(packet.data[1].id));
    }
    super.broadcast(packet, opts);
  }
  persistSession(session) {
    const s = { ...session, disconnectedAt: Date.now() };
    sessions.set(s.pid, s);
    persist('session', s);
  }
  restoreSession(pid, offset) {
    const s = sessions.get(pid);
    if (!s || s.disconnectedAt + cfg.recovery < Date.now() || !/^\d+$/.test(offset)) return Promise.resolve(null);
    sessions.delete(pid);
    const rooms = new Set(s.rooms);
    const missed = messages
      .filter((m) => m.id > Number(offset) && rooms.has(m.roomId))
      .map((m) => [m.type === 'ALERT' ? 'sendAlert' : 'sendMessage', publicMessage(m), String(m.id)]);
    return Promise.resolve({ ...s, missedPackets: missed });
  }
}

function fail(socket, ack, err) {
  if (!(err instanceof Refusal)) { console.error(err); err = new Refusal('INTERNAL'); }
  const env = errEnvelope(err.code, err.detail);
  if (err.code === 'INTERNAL') env.message = 'INTERNAL_SERVER_ERROR';
  if (typeof ack === 'function' && !broken.has('no-error-ack')) ack(env);
  socket.emit('message', JSON.stringify(env));
}

function roomFor(socket, roomId) {
  const room = rooms.get(roomId);
  if (!room) refuse('ROOM_NOT_FOUND');
  if (`/${room.namespace}` !== socket.nsp.name) refuse('NAMESPACE_MISMATCH');
  return room;
}

const handlers = {
  joinRoom(socket, p) {
    requireObject(p);
    const roomId = requireString(p.roomId, 'roomId');
    if (p.chatterId !== null && p.chatterId !== undefined && typeof p.chatterId !== 'string') refuse('BAD_REQUEST', 'chatterId');
    for (const f of ['token', 'password', 'ticket']) requireString(p[f], f, 200, { optional: true, allowEmpty: true });
    const room = roomFor(socket, roomId);
    if (isExpired(room)) refuse('ROOM_EXPIRED');
    let chatter = null;
    if (p.chatterId) {
      chatter = chatters.get(p.chatterId);
      if (!chatter) refuse('CHATTER_NOT_FOUND');
      if (cfg.strict && p.token !== chatter.token) refuse('FORBIDDEN');
    }
    const member = chatter && memberships.has(`${room.id} ${chatter.id}`);
    if (cfg.strict && room.isPassword && !member) {
      const t = p.ticket && tickets.get(p.ticket);
      const ticketOk = t && t.roomId === room.id && t.exp > Date.now();
      if (!ticketOk) {
        if (p.ticket && !p.password) refuse('FORBIDDEN');
        if (!p.password) refuse('PASSWORD_REQUIRED');
        if (hash(p.password) !== room.passwordHash) refuse('WRONG_PASSWORD');
      }
    }
    const present = chatter && isOnline(room.id, chatter.id);
    const inGrace = chatter && leaveTimers.has(`${room.id} ${chatter.id}`);
    if (!present && !inGrace && roomOnline(room.id).size >= room.capacity) refuse('ROOM_FULL');
    if (!chatter) {
      const names = ['개구리', '메뚜기', '멸치', '너구리', '코끼리', '올빼미'];
      chatter = {
        id: randomUUID(), nickname: names[Math.floor(Math.random() * names.length)],
        createdAt: iso(now()), deletedAt: null, isActive: true, token: randomBytes(24).toString('base64url'),
      };
      chatters.set(chatter.id, chatter);
    }
    chatter.isActive = true;
    chatter.deletedAt = null;
    persist('chatter', chatter);
    const key = `${room.id} ${chatter.id}`;
    let rc = memberships.get(key);
    if (!rc) rc = { id: nextMembershipId++, joinedAt: iso(now()), leftAt: null, isActive: true, roomId: room.id, chatterId: chatter.id };
    rc.isActive = true;
    rc.leftAt = null;
    memberships.set(key, rc);
    persist('rc', rc);
    socket.join(room.id);
    socket.data.chatters = { ...(socket.data.chatters ?? {}), [room.id]: chatter.id };
    if (inGrace) {
      clearTimeout(leaveTimers.get(key));
      leaveTimers.delete(key);
    } else if (!present) {
      addOnline(room.id, chatter.id, socket.id);
      alert(room, chatter, 'join');
    }
    addOnline(room.id, chatter.id, socket.id);
    broadcast(room, 'returnChatters', onlineChatters(room.id));
    return { ...publicChatter(chatter), token: chatter.token };
  },
  leaveRoom(socket) {
    for (const [roomId, chatterId] of Object.entries(socket.data.chatters ?? {})) {
      socket.leave(roomId);
      scheduleLeave(roomId, chatterId, socket.id);
    }
    socket.data.chatters = {};
    return null;
  },
  sendMessage(socket, p) { return post(socket, p, 'MESSAGE'); },
  sendAlert(socket, p) { return post(socket, p, 'ALERT'); },
  returnChatters(socket, p) {
    requireObject(p);
    const room = roomFor(socket, requireString(p.roomId, 'roomId'));
    broadcast(room, 'returnChatters', onlineChatters(room.id));
    return null;
  },
};

function post(socket, p, type) {
  requireObject(p);
  const roomId = requireString(p.roomId, 'roomId');
  const content = requireString(p.content, 'content', 1000);
  const room = roomFor(socket, roomId);
  if (isExpired(room)) refuse('ROOM_EXPIRED');
  const chatterId = socket.data.chatters?.[roomId];
  if (!chatterId) refuse('NOT_JOINED');
  if (type === 'ALERT') {
    if (lastRename.get(chatterId) === content && !broken.has('rename-twice')) return null;
    if (lastRename.get(chatterId) === content) {
      const m = appendMessage(roomId, chatterId, 'ALERT', content);
      broadcast(room, 'sendAlert', publicMessage(m));
      return null;
    }
    refuse('ALERT_FORBIDDEN');
  }
  const m = appendMessage(roomId, chatterId, 'MESSAGE', content);
  broadcast(room, 'sendMessage', publicMessage(m));
  return null;
}

function onConnection(socket) {
  if (socket.recovered) {
    for (const [roomId, chatterId] of Object.entries(socket.data.chatters ?? {})) {
      const key = `${roomId} ${chatterId}`;
      clearTimeout(leaveTimers.get(key));
      leaveTimers.delete(key);
      addOnline(roomId, chatterId, socket.id);
    }
  }
  const typingAt = { t: 0 };
  socket.on('typing', (p) => {
    const chatterId = p && socket.data.chatters?.[p.roomId];
    if (!chatterId || Date.now() - typingAt.t < 2000) return;
    typingAt.t = Date.now();
    socket.to(p.roomId).emit('typing', { roomId: p.roomId, chatterId, nickname: chatters.get(chatterId)?.nickname });
  });
  for (const [event, handler] of Object.entries(handlers)) {
    socket.on(event, (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
      try {
        const data = handler(socket, args[0]);
        if (ack) ack(okEnvelope(data));
      } catch (err) {
        fail(socket, ack, err);
      }
    });
  }
  socket.on('disconnect', () => {
    for (const [roomId, chatterId] of Object.entries(socket.data.chatters ?? {})) scheduleLeave(roomId, chatterId, socket.id);
  });
}

// ---------------------------------------------------------------- REST
function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
function parseJson(buf) {
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch { refuse('BAD_REQUEST', 'invalid UTF-8'); }
  try { return requireObject(JSON.parse(text)); } catch (e) { if (e instanceof Refusal) throw e; refuse('BAD_REQUEST', 'invalid JSON'); }
}
function authorize(req, chatter) {
  if (!cfg.strict) return;
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Bearer ') || h.slice(7) !== chatter.token) refuse('FORBIDDEN');
}
const positiveInt = (s, field) => {
  if (!/^\d+$/.test(s) || Number(s) < 1) refuse('BAD_REQUEST', field);
  return Number(s);
};

const routes = [
  ['GET', /^\/healthz$/, () => [200, { ok: true }]],
  ['GET', /^\/readyz$/, () => [200, { ok: true }]],
  ['GET', /^\/metrics$/, () => [200, '# TYPE colachat_fake gauge\ncolachat_fake 1\n']],
  ['POST', /^\/chat\/rooms$/, async (req) => {
    const b = parseJson(await readBody(req));
    const namespace = requireString(b.namespace, 'namespace', 100);
    const title = requireString(b.title, 'title', 30);
    if (!Number.isInteger(b.capacity) || b.capacity < 1) refuse('BAD_REQUEST', 'capacity');
    if (typeof b.isPassword !== 'boolean') refuse('BAD_REQUEST', 'isPassword');
    const password = requireString(b.password, 'password', 12, { optional: true });
    if (b.isPassword !== Boolean(password)) refuse('BAD_REQUEST');
    const t = now();
    const room = {
      id: randomUUID(), title, namespace, capacity: b.capacity, createdAt: iso(t),
      expiresAt: iso(t.getTime() + cfg.roomTtl), isPassword: b.isPassword, isExpired: false, userId: null,
      passwordHash: password ? hash(password) : '',
    };
    rooms.set(room.id, room);
    persist('room', room);
    return [201, okEnvelope(publicRoom(room))];
  }],
  ['GET', /^\/chat\/rooms$/, () => [200, okEnvelope([...rooms.values()].reverse().map(publicRoom))]],
  ['GET', /^\/chat\/rooms\/([^/]+)$/, (req, [id]) => {
    const room = rooms.get(id) ?? refuse('ROOM_NOT_FOUND');
    const roomChatters = [...memberships.values()].filter((rc) => rc.roomId === id && rc.isActive);
    return [200, okEnvelope({ ...publicRoom(room), roomChatters })];
  }],
  ['POST', /^\/chat\/rooms\/([^/]+)\/access-check$/, async (req, [id]) => {
    const b = parseJson(await readBody(req));
    const password = requireString(b.password, 'password', 100, { optional: true, allowEmpty: true });
    const room = rooms.get(id) ?? refuse('ROOM_NOT_FOUND');
    if (isExpired(room)) refuse('ROOM_EXPIRED');
    if (room.isPassword && (!password || hash(password) !== room.passwordHash)) {
      const n = (wrongAttempts.get(id) ?? 0) + 1;
      wrongAttempts.set(id, n);
      if (cfg.limitLoopback && n > 10) refuse('RATE_LIMITED');
      return [200, okEnvelope(null)];
    }
    if (roomOnline(id).size >= room.capacity) refuse('ROOM_FULL');
    const ticket = randomBytes(16).toString('base64url');
    tickets.set(ticket, { roomId: id, exp: Date.now() + 300_000 });
    return [200, { ...okEnvelope(true), ticket }];
  }],
  ['GET', /^\/chat\/rooms\/([^/]+)\/([^/]+)\/reentry-check$/, (req, [roomId, chatterId]) => {
    rooms.get(roomId) ?? refuse('ROOM_NOT_FOUND');
    const yes = isOnline(roomId, chatterId) || leaveTimers.has(`${roomId} ${chatterId}`);
    return [200, okEnvelope(yes)];
  }],
  ['GET', /^\/chat\/messages\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/, (req, [roomId, pageText, chatterId], query) => {
    const room = rooms.get(roomId) ?? refuse('ROOM_NOT_FOUND');
    if (isExpired(room)) refuse('ROOM_EXPIRED');
    const page = positiveInt(pageText, 'page');
    const q = (k) => query.get(k);
    const before = q('before') !== null ? positiveInt(q('before'), 'before') : null;
    const after = q('after') !== null ? (/^\d+$/.test(q('after')) ? Number(q('after')) : refuse('BAD_REQUEST', 'after')) : null;
    const limit = q('limit') !== null ? positiveInt(q('limit'), 'limit') : 50;
    if (limit > 100) refuse('BAD_REQUEST', 'limit');
    if (!chatterId) return [200, okEnvelope([])];
    const chatter = chatters.get(chatterId);
    if (!chatter) return [200, okEnvelope([])];
    authorize(req, chatter);
    const first = messages.find((m) => m.roomId === roomId && m.chatterId === chatterId);
    if (!first) return [200, okEnvelope([])];
    const visible = messages.filter((m) => m.roomId === roomId && m.id >= first.id);
    let out;
    if (after !== null) out = visible.filter((m) => m.id > after).slice(0, limit);
    else if (before !== null || q('limit') !== null) {
      const older = before === null ? visible : visible.filter((m) => m.id < before);
      out = older.slice(Math.max(0, older.length - limit));
    } else {
      const end = visible.length - (page - 1) * 20;
      out = end <= 0 ? [] : visible.slice(Math.max(0, end - 20), end);
    }
    return [200, okEnvelope(out.map(publicMessage))];
  }],
  ['PATCH', /^\/chat\/chatters\/([^/]+)\/nickname$/, async (req, [id]) => {
    const b = parseJson(await readBody(req));
    const nickname = requireString(b.nickname, 'nickname', 10);
    const chatter = chatters.get(id) ?? refuse('CHATTER_NOT_FOUND');
    authorize(req, chatter);
    const old = chatter.nickname;
    chatter.nickname = nickname;
    persist('chatter', chatter);
    for (const [roomId, r] of online) {
      const room = rooms.get(roomId);
      if (!room || !r.has(id) || room.isExpired) continue;
      const m = alert(room, { ...chatter, nickname: old }, 'rename', { newNickname: nickname });
      lastRename.set(id, m.content);
    }
    return [200, okEnvelope(publicChatter(chatter))];
  }],
];

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const origin = req.headers.origin;
  const headers = { 'Content-Type': 'application/json; charset=utf-8' };
  if (origin && cfg.origins.includes(origin)) {
    headers['Access-Control-Allow-Origin'] = origin;
    headers.Vary = 'Origin';
  }
  if (req.method === 'OPTIONS') {
    if (headers['Access-Control-Allow-Origin']) {
      headers['Access-Control-Allow-Methods'] = 'GET, POST, PATCH, OPTIONS';
      headers['Access-Control-Allow-Headers'] = 'Content-Type, Authorization';
    }
    res.writeHead(204, headers).end();
    return;
  }
  let status;
  let body;
  try {
    const matching = routes.filter(([, re]) => re.test(url.pathname));
    const route = matching.find(([m]) => m === req.method);
    if (!route) refuse(matching.length ? 'METHOD' : 'NOT_FOUND');
    const params = url.pathname.match(route[1]).slice(1).map((p) => (p === undefined ? p : decodeURIComponent(p)));
    [status, body] = await route[2](req, params, url.searchParams);
  } catch (err) {
    if (!(err instanceof Refusal)) { console.error(err); err = new Refusal('INTERNAL'); }
    status = STATUS[err.code] ?? 500;
    body = errEnvelope(err.code, err.detail);
  }
  if (typeof body === 'string') headers['Content-Type'] = 'text/plain; version=0.0.4';
  res.writeHead(status, headers).end(typeof body === 'string' ? body : JSON.stringify(body));
}

// ---------------------------------------------------------------- expiry and purge
function sweep() {
  const t = Date.now();
  for (const room of rooms.values()) {
    if (!room.isExpired && t >= Date.parse(room.expiresAt)) {
      room.isExpired = true;
      persist('room', room);
      if (roomOnline(room.id).size > 0) {
        const someone = chatters.get([...roomOnline(room.id).keys()][0]);
        alert(room, someone, 'expire');
        broadcast(room, 'roomExpired', { roomId: room.id });
        nsOf(room)?.in(room.id).socketsLeave(room.id);
      }
    }
    if (room.isExpired && t >= Date.parse(room.expiresAt) + cfg.retention) {
      rooms.delete(room.id);
      for (let i = messages.length - 1; i >= 0; i--) if (messages[i].roomId === room.id) messages.splice(i, 1);
      persist('purge', room.id);
    }
  }
}

// ---------------------------------------------------------------- main
const server = http.createServer((req, res) => { handle(req, res); });
io = new Server(server, {
  adapter: StoreAdapter,
  connectionStateRecovery: { maxDisconnectionDuration: cfg.recovery, skipMiddlewares: true },
  cors: { origin: cfg.origins },
});
io.of(/^\/.+$/).on('connection', onConnection);
const [host, port] = cfg.addr.split(':');
server.listen(Number(port), host, () => console.error(`fake colachat on ${cfg.addr}`));
const sweeper = setInterval(sweep, 200);
process.on('SIGTERM', () => {
  clearInterval(sweeper);
  for (const s of io.of('/').server._nsps.values()) for (const sock of s.sockets.values()) sock.conn.close();
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
