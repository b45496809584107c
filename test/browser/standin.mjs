// A small stand-in for `colachat serve`, for developing the web UI before (or without) the Go
// binary: the REST routes, Socket.IO events and strict identity of docs/protocol.md, kept in
// memory, plus the built UI from internal/web/dist. It is a test double, not a reference: the
// browser tests run against the real binary whenever it exists.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const OK = '요청이 성공적으로 처리되었습니다.';
const ERR = {
  BAD_REQUEST: [400, '요청된 데이터가 올바르지 않습니다.'],
  ROOM_NOT_FOUND: [404, '채팅방이 존재하지 않습니다.'],
  ROOM_EXPIRED: [404, '채팅이 만료되어 더 이상 사용할 수 없습니다.'],
  ROOM_FULL: [404, '채팅방 인원수가 가득차서 입장할 수 없습니다.'],
  CHATTER_NOT_FOUND: [404, '채팅 참여자를 찾을 수 없습니다.'],
  PASSWORD_REQUIRED: [403, '비밀번호가 필요합니다.'],
  WRONG_PASSWORD: [403, '비밀번호가 올바르지 않습니다.'],
  FORBIDDEN: [403, '권한이 없습니다.'],
  NOT_JOINED: [403, '채팅방에 입장하지 않았습니다.'],
  ALERT_FORBIDDEN: [403, '시스템 알림은 서버만 보낼 수 있습니다.'],
};
class Fail extends Error {
  constructor(code) {
    super(ERR[code][1]);
    this.code = code;
  }
}
const envelope = (data) => ({ success: true, message: OK, data: data ?? null });
const failure = (code) => ({ success: false, message: ERR[code][1], data: null, code });
const hash = (s) => createHash('sha256').update(s).digest('hex');
const len = (s) => [...s].length;
const NICKS = ['개구리', '메뚜기', '멸치', '너구리', '코끼리', '올빼미'];

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

export async function startStandin({ port = 0, roomTtlMs = 24 * 3600 * 1000 } = {}) {
  const dist = fileURLToPath(new URL('../../internal/web/dist', import.meta.url));
  const rooms = new Map(); // id -> room (with password, online: Map<chatterId, Set<socketId>>)
  const chatters = new Map(); // id -> {chatter, tokenHash}
  const messages = []; // all messages, id ascending
  const tickets = new Map(); // ticket -> roomId
  const firstIdOf = new Map(); // `${roomId}/${chatterId}` -> first message id
  const graceTimers = new Map();
  const expiryTimers = new Set();
  let nextId = 1;

  const publicRoom = (r) => {
    const { password, online, ...rest } = r;
    return rest;
  };
  const publicChatter = (c) => ({ ...c });
  const getRoom = (id) => {
    const r = rooms.get(id);
    if (!r) throw new Fail('ROOM_NOT_FOUND');
    return r;
  };
  const expired = (r) => r.isExpired || Date.parse(r.expiresAt) <= Date.now();
  const onlineChatters = (r) => [...r.online.keys()].map((id) => publicChatter(chatters.get(id).chatter));
  const addMessage = (room, chatterId, type, content, alert) => {
    const c = chatters.get(chatterId).chatter;
    const m = { id: nextId++, type, content, sentAt: new Date().toISOString(), roomId: room.id, chatterId, chatter: publicChatter(c) };
    if (alert) m.alert = alert;
    messages.push(m);
    if (!firstIdOf.has(`${room.id}/${chatterId}`)) firstIdOf.set(`${room.id}/${chatterId}`, m.id);
    return m;
  };
  const checkToken = (chatterId, auth) => {
    const entry = chatters.get(chatterId);
    if (!entry) throw new Fail('CHATTER_NOT_FOUND');
    const token = (auth || '').replace(/^Bearer /, '');
    if (!token || hash(token) !== entry.tokenHash) throw new Fail('FORBIDDEN');
    return entry;
  };

  const httpServer = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err) => {
      const code = err instanceof Fail ? err.code : 'BAD_REQUEST';
      send(ERR[code][0], failure(code));
    };
    let body = {};
    if (req.method === 'POST' || req.method === 'PATCH') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      } catch {
        return fail(new Fail('BAD_REQUEST'));
      }
    }
    const p = url.pathname;
    let m;
    try {
      if (p === '/healthz') return send(200, { ok: true });
      if (req.method === 'POST' && p === '/chat/rooms') {
        const { title, capacity, isPassword, password } = body;
        if (typeof title !== 'string' || !title || len(title) > 30) throw new Fail('BAD_REQUEST');
        if (![2, 4, 8, 16].includes(capacity)) throw new Fail('BAD_REQUEST');
        if (Boolean(isPassword) !== Boolean(password) || (password && len(password) > 12)) throw new Fail('BAD_REQUEST');
        const now = new Date();
        const room = {
          id: randomUUID(), title, namespace: body.namespace || 'anonymous', capacity, createdAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + roomTtlMs).toISOString(), isPassword: Boolean(isPassword),
          isExpired: false, userId: null, password: password || null, online: new Map(),
        };
        rooms.set(room.id, room);
        const t = setTimeout(() => expire(room), roomTtlMs);
        expiryTimers.add(t);
        return send(201, envelope(publicRoom(room)));
      }
      if (req.method === 'GET' && (m = /^\/chat\/rooms\/([^/]+)$/.exec(p))) {
        const r = getRoom(m[1]);
        return send(200, envelope({ ...publicRoom(r), roomChatters: [...r.online.keys()].map((id) => ({ chatterId: id, isActive: true })) }));
      }
      if (req.method === 'POST' && (m = /^\/chat\/rooms\/([^/]+)\/access-check$/.exec(p))) {
        const r = getRoom(m[1]);
        if (expired(r)) throw new Fail('ROOM_EXPIRED');
        if (r.online.size >= r.capacity) throw new Fail('ROOM_FULL');
        if (r.isPassword && body.password !== r.password) return send(200, envelope(null));
        const ticket = randomBytes(16).toString('hex');
        tickets.set(ticket, r.id);
        return send(200, { ...envelope(true), ticket });
      }
      if (req.method === 'GET' && (m = /^\/chat\/messages\/([^/]+)\/(\d+)\/([^/]+)$/.exec(p))) {
        const r = getRoom(m[1]);
        if (expired(r)) throw new Fail('ROOM_EXPIRED');
        checkToken(m[3], req.headers.authorization);
        const first = firstIdOf.get(`${r.id}/${m[3]}`) ?? Infinity;
        const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') || 50)));
        const mine = messages.filter((x) => x.roomId === r.id && x.id >= first);
        let page;
        if (url.searchParams.has('after')) {
          const after = Number(url.searchParams.get('after'));
          page = mine.filter((x) => x.id > after).slice(0, limit);
        } else {
          const before = url.searchParams.has('before') ? Number(url.searchParams.get('before')) : Infinity;
          page = mine.filter((x) => x.id < before).slice(-limit);
        }
        return send(200, envelope(page));
      }
      if (req.method === 'PATCH' && (m = /^\/chat\/chatters\/([^/]+)\/nickname$/.exec(p))) {
        const entry = checkToken(m[1], req.headers.authorization);
        const nickname = body.nickname;
        if (typeof nickname !== 'string' || !nickname.trim() || len(nickname) > 10) throw new Fail('BAD_REQUEST');
        const old = entry.chatter.nickname;
        entry.chatter.nickname = nickname;
        for (const r of rooms.values()) {
          if (!r.online.has(m[1])) continue;
          const msg = addMessage(r, m[1], 'ALERT', `${old}님의 닉네임이 ${nickname}로 변경되었습니다.`, { kind: 'rename', nickname: old, newNickname: nickname });
          io.of(`/${r.namespace}`).to(r.id).emit('sendAlert', msg);
          io.of(`/${r.namespace}`).to(r.id).emit('returnChatters', onlineChatters(r), { roomId: r.id });
        }
        return send(200, envelope(publicChatter(entry.chatter)));
      }
      if (/^\/chat\/(rooms|messages|chatters)(\/|$)/.test(p) || p.startsWith('/socket.io')) throw new Fail('ROOM_NOT_FOUND');
      // The UI: a file, or index.html for any page.
      const file = join(dist, p);
      if (p !== '/' && file.startsWith(dist) && existsSync(file) && extname(file)) {
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] || 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
      res.writeHead(200, { 'Content-Type': MIME['.html'] });
      return res.end(readFileSync(join(dist, 'index.html')));
    } catch (err) {
      return fail(err);
    }
  });

  const io = new Server(httpServer, { connectionStateRecovery: { maxDisconnectionDuration: 120000 } });

  function expire(room) {
    if (room.isExpired) return;
    room.isExpired = true;
    const nsp = io.of(`/${room.namespace}`);
    const any = [...room.online.keys()][0];
    if (any) nsp.to(room.id).emit('sendAlert', addMessage(room, any, 'ALERT', '채팅방이 만료되었습니다.', { kind: 'expire', nickname: '' }));
    nsp.to(room.id).emit('roomExpired', { roomId: room.id });
    nsp.in(room.id).socketsLeave(room.id);
    room.online.clear();
  }

  function leave(socket, roomId, forget) {
    const r = rooms.get(roomId);
    const chatterId = socket.data.chatters?.[roomId];
    if (!r || !chatterId) return;
    // A disconnect keeps socket.data: connection state recovery restores it.
    if (forget) delete socket.data.chatters[roomId];
    const set = r.online.get(chatterId);
    set?.delete(socket.id);
    if (set && set.size === 0) {
      const key = `${roomId}/${chatterId}`;
      graceTimers.set(key, setTimeout(() => {
        graceTimers.delete(key);
        if (r.online.get(chatterId)?.size) return;
        r.online.delete(chatterId);
        if (r.isExpired) return;
        const c = chatters.get(chatterId).chatter;
        const nsp = io.of(`/${r.namespace}`);
        nsp.to(roomId).emit('sendAlert', addMessage(r, chatterId, 'ALERT', `${c.nickname}님이 퇴장했습니다.`, { kind: 'leave', nickname: c.nickname }));
        nsp.to(roomId).emit('returnChatters', onlineChatters(r), { roomId: r.id });
      }, 1000));
    }
  }

  io.of(/^\/.+$/).on('connection', (socket) => {
    const nsp = socket.nsp;
    socket.data.chatters ??= {};
    if (socket.recovered) {
      for (const [roomId, chatterId] of Object.entries(socket.data.chatters)) {
        const r = rooms.get(roomId);
        const key = `${roomId}/${chatterId}`;
        if (!r || r.isExpired) continue;
        clearTimeout(graceTimers.get(key));
        graceTimers.delete(key);
        if (!r.online.has(chatterId)) r.online.set(chatterId, new Set());
        r.online.get(chatterId).add(socket.id);
      }
    }
    const handle = (event, fn) =>
      socket.on(event, async (...args) => {
        const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
        try {
          const data = await fn(args[0] ?? {});
          ack?.(envelope(data));
        } catch (err) {
          const code = err instanceof Fail ? err.code : 'BAD_REQUEST';
          ack?.(failure(code));
          socket.emit('message', JSON.stringify(failure(code)));
        }
      });
    handle('joinRoom', ({ roomId, chatterId, token, password, ticket }) => {
      const r = getRoom(roomId);
      if (`/${r.namespace}` !== nsp.name) throw new Fail('BAD_REQUEST');
      if (expired(r)) throw new Fail('ROOM_EXPIRED');
      let entry;
      let newToken;
      if (chatterId) {
        entry = checkToken(chatterId, `Bearer ${token || ''}`);
      } else {
        if (r.isPassword) {
          const okTicket = ticket && tickets.get(ticket) === r.id;
          if (!okTicket && !password) throw new Fail('PASSWORD_REQUIRED');
          if (!okTicket && password !== r.password) throw new Fail('WRONG_PASSWORD');
        }
        newToken = randomBytes(24).toString('hex');
        // A name nobody in the room has had (the messages name everyone who came), numbered when the six run out.
        const had = new Set(messages.filter((m) => m.roomId === r.id).map((m) => m.chatter?.nickname));
        const free = NICKS.filter((n) => !had.has(n));
        let nickname = free[Math.floor(Math.random() * free.length)];
        for (let i = 1; !nickname; i++) if (!had.has(`${NICKS[0]}${i}`)) nickname = `${NICKS[0]}${i}`;
        const c = { id: randomUUID(), nickname, createdAt: new Date().toISOString(), deletedAt: null, isActive: true };
        entry = { chatter: c, tokenHash: hash(newToken) };
        chatters.set(c.id, entry);
      }
      const id = entry.chatter.id;
      const returning = r.online.has(id);
      if (!returning && r.online.size >= r.capacity) throw new Fail('ROOM_FULL');
      const key = `${r.id}/${id}`;
      const inGrace = graceTimers.has(key);
      if (inGrace) {
        clearTimeout(graceTimers.get(key));
        graceTimers.delete(key);
      }
      if (!r.online.has(id)) r.online.set(id, new Set());
      r.online.get(id).add(socket.id);
      socket.join(r.id);
      socket.data.chatters[r.id] = id;
      if (!returning && !inGrace) {
        const c = entry.chatter;
        nsp.to(r.id).emit('sendAlert', addMessage(r, id, 'ALERT', `${c.nickname}님이 입장했습니다.`, { kind: 'join', nickname: c.nickname }));
      }
      nsp.to(r.id).emit('returnChatters', onlineChatters(r), { roomId: r.id });
      return { ...publicChatter(entry.chatter), token: newToken ?? token };
    });
    handle('sendMessage', ({ roomId, content }) => {
      const r = getRoom(roomId);
      if (expired(r)) throw new Fail('ROOM_EXPIRED');
      const chatterId = socket.data.chatters[roomId];
      if (!chatterId) throw new Fail('NOT_JOINED');
      if (typeof content !== 'string' || !content || len(content) > 1000) throw new Fail('BAD_REQUEST');
      nsp.to(r.id).emit('sendMessage', addMessage(r, chatterId, 'MESSAGE', content));
      return null;
    });
    handle('sendAlert', () => {
      throw new Fail('ALERT_FORBIDDEN');
    });
    handle('returnChatters', ({ roomId }) => {
      const r = getRoom(roomId);
      nsp.to(r.id).emit('returnChatters', onlineChatters(r), { roomId: r.id });
      return null;
    });
    handle('leaveRoom', (payload) => {
      const only = payload && typeof payload.roomId === 'string' ? [payload.roomId] : null;
      for (const roomId of only ?? Object.keys(socket.data.chatters)) {
        socket.leave(roomId);
        leave(socket, roomId, true);
      }
      return null;
    });
    const lastTyping = { at: 0 };
    socket.on('typing', ({ roomId } = {}) => {
      const chatterId = socket.data.chatters[roomId];
      if (!chatterId || Date.now() - lastTyping.at < 2000) return;
      lastTyping.at = Date.now();
      socket.to(roomId).emit('typing', { roomId, chatterId, nickname: chatters.get(chatterId).chatter.nickname });
    });
    socket.on('disconnect', () => {
      for (const roomId of Object.keys(socket.data.chatters)) leave(socket, roomId, false);
    });
  });

  await new Promise((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${httpServer.address().port}`,
    async stop() {
      for (const t of [...graceTimers.values(), ...expiryTimers]) clearTimeout(t);
      await new Promise((resolve) => io.close(() => resolve()));
    },
  };
}

// `node standin.mjs [port] [ttlSeconds]` runs it by hand for `npm run dev` in web/.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startStandin({ port: Number(process.argv[2] || 8080), roomTtlMs: Number(process.argv[3] || 86400) * 1000 });
  console.log(`stand-in listening on ${s.url}`);
}
