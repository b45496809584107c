// The person's rooms while the app is open: one Socket.IO connection (one Manager, one
// socket per namespace) carries every room they joined, so going back to the room list is
// not leaving. Only "나가기" leaves; closing the tab leaves once the server's grace is over.
//
// Recovery after a connection loss: the auth sent on every (re)connect carries `positions`
// (each room's last contiguous seq, docs/protocol.md) beside the client's {pid, offset}; a
// recovered socket gets the missed messages replayed, and every room fills what may remain
// from history. A new session rejoins each room with its chatter id and token (no join
// alert within the grace) and fills the gap through REST history ?after=<last id>.

import { Manager, type Socket } from 'socket.io-client';
import { errorCode, getRoom } from './api';
import type { App } from './app';
import { type ConnectionStatus, type JoinCredentials, JoinedRoom, type RoomHost } from './joined';
import { addressedTo, Notifier } from './notify';
import { savedRoomInfo, savedRooms } from './storage';
import type { Chatter, Envelope, Message, Room } from './types';

const FIRST_CONNECT_TRIES = 3;

function nsKey(namespace: string): string {
  return namespace.replace(/^\/+/, '');
}

export class Session implements RoomHost {
  readonly rooms = new Map<string, JoinedRoom>();
  readonly notifier = new Notifier();
  private manager: Manager | null = null;
  private readonly sockets = new Map<string, Socket>();
  private readonly listeners = new Set<() => void>();
  /** Others' messages that arrived while the tab was hidden: the title counts them. */
  private unseen = 0;
  /** Rooms left while the connection was down, by namespace: told once it is back. */
  private readonly leaveLater = new Map<string, Set<string>>();

  constructor(readonly app: App) {
    document.addEventListener('visibilitychange', () => this.onVisibility());
  }

  /** Rejoins every room saved in this browser: the person is in them until they leave. */
  restore(): void {
    for (const saved of savedRooms()) {
      if (this.rooms.has(saved.roomId)) continue;
      const r = this.open(savedRoomInfo(saved), { identity: { chatterId: saved.chatterId, token: saved.token } }, saved.lastRead);
      if (saved.capacity) continue;
      // Saved by an older version, without the room's capacity: ask for it.
      getRoom(saved.roomId)
        .then((room) => this.rooms.get(room.id) === r && r.refresh(room))
        .catch(() => {}); // the join says what is wrong with the room, if anything
    }
  }

  get(roomId: string): JoinedRoom | undefined {
    return this.rooms.get(roomId);
  }

  /** Joins the room over the shared connection, or returns it when the person is in it already. */
  open(room: Room, creds: JoinCredentials, lastRead?: number): JoinedRoom {
    const existing = this.rooms.get(room.id);
    if (existing && existing.state !== 'failed') {
      if (room.createdAt) existing.room = room; // fresher than what was saved
      return existing;
    }
    existing?.close();
    this.leaveLater.get(nsKey(room.namespace))?.delete(room.id); // back in: that leave is void
    const r = new JoinedRoom(this, room, creds, lastRead);
    this.rooms.set(room.id, r);
    this.socket(room.namespace); // connects on first use
    r.start();
    this.changed();
    return r;
  }

  /** Leaves one room for good; the others stay. */
  leave(roomId: string): void {
    const r = this.rooms.get(roomId);
    if (!r) return;
    const ns = nsKey(r.room.namespace);
    if (!this.socket(ns).connected) {
      // A recovered session would put us back in the room: say we left once connected.
      const set = this.leaveLater.get(ns) ?? new Set<string>();
      set.add(roomId);
      this.leaveLater.set(ns, set);
    }
    r.leave();
    this.rooms.delete(roomId);
    this.changed();
  }

  /** Runs fn whenever the rooms, their last messages or unread counts change. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  dropped(room: JoinedRoom): void {
    if (this.rooms.get(room.id) === room) {
      this.rooms.delete(room.id);
      this.changed();
    }
  }

  /** Reconnects after the server closed the connection. */
  reconnect(namespace: string): void {
    this.sockets.get(nsKey(namespace))?.connect();
  }

  private roomsIn(ns: string): JoinedRoom[] {
    return [...this.rooms.values()].filter((r) => nsKey(r.room.namespace) === ns);
  }

  /** The namespace's socket on the shared connection, made (and connected) on first use. */
  socket(namespace: string): Socket {
    const ns = nsKey(namespace);
    const existing = this.sockets.get(ns);
    if (existing) return existing;
    this.manager ??= new Manager(location.origin, {
      autoConnect: false,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      // A connection attempt into a dead network can hang; give up on it sooner than the default 20 s.
      timeout: 8000,
    });
    // Called on every (re)connect; socket.io-client adds {pid, offset} to it on a reconnect.
    const s = this.manager.socket(`/${ns}`, { auth: (cb: (data: object) => void) => cb(this.auth(ns)) });
    this.sockets.set(ns, s);
    let failedConnects = 0;
    s.on('connect', () => {
      failedConnects = 0;
      for (const roomId of this.leaveLater.get(ns) ?? []) s.emit('leaveRoom', { roomId });
      this.leaveLater.delete(ns);
      for (const r of this.roomsIn(ns)) r.connected(Boolean(s.recovered));
    });
    s.on('disconnect', (reason) => {
      const status: ConnectionStatus =
        reason === 'io server disconnect' || reason === 'io client disconnect' ? 'disconnected' : 'reconnecting';
      for (const r of this.roomsIn(ns)) r.disconnected(status);
    });
    s.on('connect_error', (err: Error) => {
      failedConnects++;
      for (const r of this.roomsIn(ns)) {
        if (!r.me && (!s.active || failedConnects >= FIRST_CONNECT_TRIES)) {
          // Never got in: say so instead of loading forever.
          r.fail(s.active ? 'NETWORK' : 'ERROR', err.message);
        } else if (r.me) r.disconnected(s.active ? 'reconnecting' : 'disconnected');
      }
    });
    const onMessage = (m: Message) => {
      if (m && typeof m.roomId === 'string') this.rooms.get(m.roomId)?.onMessages([m]);
    };
    s.on('sendMessage', onMessage);
    s.on('sendAlert', onMessage);
    s.on('returnChatters', (list: Chatter[], meta?: { roomId?: string }) => {
      if (!Array.isArray(list)) return;
      this.chattersRoom(ns, list, meta)?.onChatters(list);
    });
    s.on('typing', (ev: { roomId?: string; chatterId?: string; nickname?: string }) => {
      if (ev?.roomId) this.rooms.get(ev.roomId)?.onTyping(ev);
    });
    s.on('roomExpired', (ev: { roomId?: string }) => {
      if (ev?.roomId) this.rooms.get(ev.roomId)?.expired();
    });
    s.on('message', (raw: unknown) => {
      // The original server's error channel (a JSON envelope as a string); it names no room.
      // Acks carry the errors of our own calls; what comes only here is a resume the server
      // refused, which matters when the room expired.
      try {
        const env = typeof raw === 'string' ? (JSON.parse(raw) as Envelope<null>) : (raw as Envelope<null>);
        if (env?.success !== false || errorCode(env) !== 'ROOM_EXPIRED') return;
        for (const r of this.roomsIn(ns)) if (Date.parse(r.room.expiresAt) <= Date.now()) r.expired();
      } catch {
        // Not an envelope: nothing to do.
      }
    });
    s.connect();
    return s;
  }

  /** The CONNECT payload: each joined room's last contiguous seq, when the server numbers them. */
  private auth(ns: string): object {
    const positions: Record<string, number> = {};
    let any = false;
    for (const r of this.roomsIn(ns)) {
      const p = r.position;
      if (p !== undefined) {
        positions[r.id] = p;
        any = true;
      }
    }
    return any ? { positions } : {};
  }

  /** Whose online list this is: the room named beside it, else the room where I am on it. */
  private chattersRoom(ns: string, list: Chatter[], meta?: { roomId?: string }): JoinedRoom | undefined {
    if (meta && typeof meta === 'object' && typeof meta.roomId === 'string') return this.rooms.get(meta.roomId);
    return this.roomsIn(ns).find((r) => r.me && list.some((c) => c.id === r.me!.id));
  }

  arrived(room: JoinedRoom, msgs: Message[]): void {
    const fromOthers = msgs.filter((m) => m.type === 'MESSAGE' && m.chatterId !== room.me?.id);
    if (fromOthers.length > 0 && document.visibilityState === 'hidden') {
      this.unseen += fromOthers.length;
      this.app.setUnseen(this.unseen);
    }
    for (const m of fromOthers) {
      if (!addressedTo(m, room.me)) continue;
      this.notifier.show(room.room.title, `${m.chatter?.nickname ?? ''}: ${m.content}`, room.id, () =>
        this.app.navigate(`/chat/${encodeURIComponent(room.id)}`),
      );
    }
  }

  private onVisibility(): void {
    if (document.visibilityState !== 'visible') return;
    this.unseen = 0;
    this.app.setUnseen(0);
    for (const r of this.rooms.values()) r.revealed();
  }
}
