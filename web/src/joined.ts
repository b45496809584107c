// One room the person is in: who they are there, its messages (a Feed that keeps filling
// while they look elsewhere), who is online and typing, what they have not read, and the
// calls made for it over the session's shared connection.

import type { Socket } from 'socket.io-client';
import { ApiError, errorCode, getMessages, PAGE_SIZE, renameChatter } from './api';
import type { App } from './app';
import { Feed } from './feed';
import { forgetIdentity, saveIdentity, saveLastRead } from './storage';
import type { Chatter, Envelope, Identity, JoinedChatter, Message, Room } from './types';

const ACK_TIMEOUT_MS = 15000;
const GAP_PAGE = 100;
const TYPING_SHOWN_MS = 3000;
const JOIN_RETRY_MS = 1500;
/** How long a seq gap may stay open before history fills it. */
const GAP_WAIT_MS = 300;

export interface JoinCredentials {
  identity?: Identity;
  ticket?: string;
  password?: string;
}

export type RoomState = 'joining' | 'joined' | 'failed';
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
export type RoomChange = 'state' | 'status' | 'me' | 'chatters' | 'typing' | 'messages';

/** What the room needs from the session that holds it. */
export interface RoomHost {
  readonly app: App;
  socket(namespace: string): Socket;
  /** Live messages arrived (for the title count and notifications). */
  arrived(room: JoinedRoom, msgs: Message[]): void;
  changed(): void;
  /** The room is over for this person (expired, gone, or their identity no longer holds). */
  dropped(room: JoinedRoom): void;
}

export class JoinedRoom {
  readonly feed: Feed;
  me: Chatter | null = null;
  token = '';
  state: RoomState = 'joining';
  failure: { code: string; message?: string } | null = null;
  status: ConnectionStatus = 'connecting';
  chatters: Chatter[] = [];
  readonly typing = new Map<string, { nickname: string; timer: number }>();
  /** The newest message id read; undefined until the person first sees the room. */
  lastRead: number | undefined;
  /** Highest seq up to which every message of the room since the join is here. */
  private seqTop: number | undefined;
  private gapTimer = 0;
  private viewing = false;
  private joinedOnce = false;
  private joinInFlight = false;
  private closed = false;
  private olderLoading = false;
  private hasMore = true;
  private gapRunning = false;
  private gapAgain = false;
  private readonly listeners = new Set<(c: RoomChange) => void>();

  constructor(
    private readonly host: RoomHost,
    public room: Room,
    private creds: JoinCredentials,
    lastRead?: number,
  ) {
    this.lastRead = lastRead;
    this.feed = new Feed(host.app.i18n, { myId: () => this.me?.id ?? '', loadOlder: () => void this.loadOlder() });
  }

  get id(): string {
    return this.room.id;
  }

  private get socket(): Socket {
    return this.host.socket(this.room.namespace);
  }

  subscribe(fn: (c: RoomChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(c: RoomChange): void {
    for (const fn of this.listeners) fn(c);
    this.host.changed();
  }

  /** The seq recovery starts from (order-design: `positions`), when the server numbers messages. */
  get position(): number | undefined {
    return this.state === 'joined' ? this.seqTop : undefined;
  }

  // ---- joining ---------------------------------------------------------------------------

  /** Joins now if the connection is up; otherwise the session joins once it is. */
  start(): void {
    if (this.socket.connected) this.join();
  }

  /** Emits joinRoom with the identity it has (or the entry ticket/password of a newcomer). */
  join(): void {
    if (this.closed || this.joinInFlight) return;
    this.joinInFlight = true;
    const payload: Record<string, unknown> = { roomId: this.room.id, chatterId: null, locale: this.host.app.i18n.lang };
    const identity = this.me ? { chatterId: this.me.id, token: this.token } : this.creds.identity;
    if (identity) {
      payload.chatterId = identity.chatterId;
      if (identity.token) payload.token = identity.token;
    } else {
      if (this.creds.ticket) payload.ticket = this.creds.ticket;
      if (this.creds.password) payload.password = this.creds.password;
    }
    const socket = this.socket;
    socket.timeout(ACK_TIMEOUT_MS).emit('joinRoom', payload, (err: Error | null, res: Envelope<JoinedChatter | null>) => {
      this.joinInFlight = false;
      if (this.closed) return;
      if (err || (res && errorCode(res) === 'RATE_LIMITED')) {
        // No answer, or too many joins at once (a restore of many rooms): try again shortly.
        window.setTimeout(() => socket.connected && this.join(), JOIN_RETRY_MS);
        return;
      }
      if (!res?.success || !res.data) return this.fail(errorCode(res), res?.message);
      this.joined(res.data, identity);
    });
  }

  private joined(data: JoinedChatter, identity: Identity | undefined): void {
    const first = !this.joinedOnce;
    this.joinedOnce = true;
    this.token = data.token ?? identity?.token ?? '';
    this.me = { id: data.id, nickname: data.nickname };
    this.creds = { identity: { chatterId: data.id, token: this.token } };
    saveIdentity(this.room, { chatterId: data.id, token: this.token });
    this.feed.redrawMine();
    this.state = 'joined';
    this.failure = null;
    this.status = 'connected';
    this.emit('me');
    this.emit('state');
    this.emit('status');
    if (first) void this.loadInitial();
    else void this.fillGap();
  }

  /** The room cannot be (or can no longer be) used; code is the server's reason. */
  fail(code: string, message?: string): void {
    if (this.closed) return;
    this.state = 'failed';
    this.failure = { code, message };
    if (code === 'ROOM_EXPIRED' || code === 'ROOM_NOT_FOUND') forgetIdentity(this.room.id);
    this.emit('state');
    // Gone for good, or a newcomer who never got in: not one of the person's rooms. A room
    // they are in but cannot rejoin now (full) stays listed, saying so.
    const gone = code === 'ROOM_EXPIRED' || code === 'ROOM_NOT_FOUND' || code === 'FORBIDDEN' || code === 'CHATTER_NOT_FOUND';
    if (gone || !this.creds.identity) this.host.dropped(this);
  }

  /** The connection came back. Recovered: the server kept our rooms and replays what we missed. */
  connected(recovered: boolean): void {
    if (this.closed) return;
    if (recovered && this.state === 'joined') {
      this.status = 'connected';
      this.emit('status');
      void this.fillGap(); // cheap insurance: replays and history meet without repeats
      return;
    }
    // A room that failed only for want of a connection is tried again now that there is one.
    if (this.state === 'failed' && this.failure?.code !== 'NETWORK' && this.failure?.code !== 'ERROR') return;
    this.join();
  }

  /** What the server says about the room now (a room restored from storage knows less). */
  refresh(room: Room): void {
    this.room = room;
    this.emit('chatters'); // the header's count shows the capacity
  }

  disconnected(status: ConnectionStatus): void {
    this.joinInFlight = false;
    this.status = status;
    this.emit('status');
  }

  /** Leaves the room for good: the server announces it after its grace. */
  leave(): void {
    if (this.closed) return;
    // Sent after a join still in flight too: the server handles a socket's events in order.
    if ((this.state === 'joined' || this.joinInFlight) && this.socket.connected) {
      this.socket.emit('leaveRoom', { roomId: this.room.id });
    }
    forgetIdentity(this.room.id);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.gapTimer);
    for (const { timer } of this.typing.values()) clearTimeout(timer);
    this.feed.destroy();
    this.listeners.clear();
  }

  // ---- history ---------------------------------------------------------------------------

  private async loadInitial(): Promise<void> {
    if (!this.me) return;
    this.olderLoading = true;
    this.feed.setHistoryState(false, true);
    try {
      const page = await getMessages(this.room.id, this.me.id, this.token, {});
      if (this.closed) return;
      this.hasMore = page.length >= PAGE_SIZE;
      const readBefore = this.lastRead;
      this.add(page, 'history');
      this.recomputeSeqTop();
      if (this.viewing) this.showNewSince(readBefore);
      // No mark yet (a room saved before marks were kept): what is here now counts as read.
      if (this.lastRead === undefined) this.lastRead = this.feed.newestId ?? 0;
      if (this.viewing) this.feed.scrollToBottom();
    } catch (err) {
      this.showError(err);
    } finally {
      this.olderLoading = false;
      this.feed.setHistoryState(this.hasMore, false);
    }
    if (this.feed.wantsOlder()) void this.loadOlder();
  }

  async loadOlder(): Promise<void> {
    const before = this.feed.oldestId;
    if (!this.me || this.olderLoading || !this.hasMore || before === undefined) return;
    this.olderLoading = true;
    this.feed.setHistoryState(true, true);
    try {
      const page = await getMessages(this.room.id, this.me.id, this.token, { before });
      if (this.closed) return;
      this.hasMore = page.length >= PAGE_SIZE;
      this.feed.add(page, 'history');
    } catch (err) {
      this.showError(err);
    } finally {
      this.olderLoading = false;
      this.feed.setHistoryState(this.hasMore, false);
    }
    if (this.feed.wantsOlder()) void this.loadOlder();
  }

  /** Fetches every message newer than the last one held without a gap (REST ?after=). */
  async fillGap(): Promise<void> {
    if (!this.me) return;
    if (this.gapRunning) {
      this.gapAgain = true;
      return;
    }
    let after = this.contiguousNewestId();
    if (after === undefined) return this.loadInitial();
    this.gapRunning = true;
    try {
      for (let i = 0; i < 50; i++) {
        const page = await getMessages(this.room.id, this.me.id, this.token, { after }, GAP_PAGE);
        if (this.closed) return;
        this.add(page, 'live');
        if (page.length < GAP_PAGE) break;
        after = page[page.length - 1].id;
      }
      this.recomputeSeqTop();
    } catch (err) {
      this.showError(err);
    } finally {
      this.gapRunning = false;
    }
    if (this.gapAgain) {
      this.gapAgain = false;
      void this.fillGap();
    }
  }

  /** The id of the newest message held with no seq gap before it (the newest, without seq). */
  private contiguousNewestId(): number | undefined {
    if (this.seqTop === undefined) return this.feed.newestId;
    let id: number | undefined;
    for (const m of this.feed.all()) if (typeof m.seq === 'number' && m.seq <= this.seqTop) id = m.id;
    return id ?? this.feed.newestId;
  }

  /** Recounts seqTop over the feed: the seq run that starts at its oldest message. */
  private recomputeSeqTop(): void {
    let top: number | undefined;
    for (const m of this.feed.all()) {
      if (typeof m.seq !== 'number') continue;
      if (top === undefined || m.seq === top + 1) top = m.seq;
      else if (m.seq > top + 1) break;
    }
    this.seqTop = top;
  }

  /** Places messages; live ones advance seqTop, and a seq that skips ahead starts a gap fill. */
  private add(msgs: Message[], kind: 'history' | 'live'): Message[] {
    const added = this.feed.add(msgs, kind);
    if (added.length === 0) return added;
    if (kind === 'live' && this.seqTop !== undefined) {
      let gap = false;
      for (const m of [...added].sort((a, b) => a.id - b.id)) {
        if (typeof m.seq !== 'number') continue;
        if (m.seq === this.seqTop + 1) this.seqTop = m.seq;
        else if (m.seq > this.seqTop + 1) gap = true;
      }
      if (gap) {
        // Held briefly: a late message may still close it; otherwise history does.
        clearTimeout(this.gapTimer);
        this.gapTimer = window.setTimeout(() => {
          this.recomputeSeqTop();
          if (this.hasGap()) void this.fillGap();
        }, GAP_WAIT_MS);
      }
    }
    if (this.viewing && document.visibilityState === 'visible') this.markRead();
    this.emit('messages');
    return added;
  }

  private hasGap(): boolean {
    const newest = this.feed.newest;
    return this.seqTop !== undefined && typeof newest?.seq === 'number' && newest.seq > this.seqTop;
  }

  /** Live messages from the connection (broadcasts and recovery replays). */
  onMessages(msgs: Message[]): void {
    if (this.closed || this.state === 'failed') return;
    for (const m of msgs) {
      if (m.type === 'MESSAGE' && m.chatterId) this.stopTyping(m.chatterId);
      if (m.type === 'ALERT' && m.alert?.kind === 'rename' && m.chatterId === this.me?.id && m.alert.newNickname) {
        this.me.nickname = m.alert.newNickname;
        this.emit('me');
      }
    }
    const added = this.add(msgs, 'live');
    if (added.length > 0) this.host.arrived(this, added);
  }

  private showError(err: unknown): void {
    if (err instanceof ApiError && err.code === 'ROOM_EXPIRED') return this.fail('ROOM_EXPIRED');
    this.host.app.toast(err instanceof Error ? err.message : String(err));
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Whether the room's screen is showing; while it is (and the tab is visible) everything is read. */
  setViewing(viewing: boolean): void {
    this.viewing = viewing;
    if (viewing) {
      this.showNewSince(this.lastRead);
      this.markRead();
    } else {
      this.feed.markUnreadAfter(undefined);
    }
  }

  /** The tab came back into view while the room shows: a line where the reader left off. */
  revealed(): void {
    if (!this.viewing) return;
    this.showNewSince(this.lastRead);
    this.markRead();
  }

  /** Puts the "new messages" line above what came after readBefore, if others said anything since. */
  private showNewSince(readBefore: number | undefined): void {
    if (readBefore === undefined) return;
    const me = this.me?.id;
    if (!this.feed.after(readBefore).some((m) => m.type === 'MESSAGE' && m.chatterId !== me)) return;
    this.feed.markUnreadAfter(readBefore);
    this.feed.revealUnread();
  }

  markRead(): void {
    const newest = this.feed.newestId;
    if (newest === undefined || (this.lastRead ?? 0) >= newest) return;
    this.lastRead = newest;
    saveLastRead(this.room.id, newest);
    this.host.changed();
  }

  /** Others' messages newer than what the person has read. */
  get unread(): number {
    if (this.lastRead === undefined) return 0;
    const me = this.me?.id;
    return this.feed.after(this.lastRead).filter((m) => m.type === 'MESSAGE' && m.chatterId !== me).length;
  }

  get lastMessage(): Message | undefined {
    return this.feed.newest;
  }

  // ---- people ----------------------------------------------------------------------------

  onChatters(list: Chatter[]): void {
    this.chatters = list;
    this.emit('chatters');
  }

  onTyping(ev: { chatterId?: string; nickname?: string }): void {
    if (!ev?.chatterId || ev.chatterId === this.me?.id) return;
    const id = ev.chatterId;
    const prev = this.typing.get(id);
    if (prev) clearTimeout(prev.timer);
    const timer = window.setTimeout(() => this.stopTyping(id), TYPING_SHOWN_MS);
    this.typing.set(id, { nickname: ev.nickname ?? '', timer });
    this.emit('typing');
  }

  private stopTyping(chatterId: string): void {
    const t = this.typing.get(chatterId);
    if (!t) return;
    clearTimeout(t.timer);
    this.typing.delete(chatterId);
    this.emit('typing');
  }

  // ---- acting ----------------------------------------------------------------------------

  get canSend(): boolean {
    return this.state === 'joined' && this.socket.connected;
  }

  /** Sends a message; resolves with the refusal (code and the server's text) or null. */
  send(content: string): Promise<{ code: string; message?: string } | null> {
    return new Promise((resolve) => {
      this.socket
        .timeout(ACK_TIMEOUT_MS)
        .emit('sendMessage', { roomId: this.room.id, content }, (err: Error | null, res: Envelope<null>) => {
          if (!err && res?.success) return resolve(null);
          const code = res ? errorCode(res) : 'NETWORK';
          if (code === 'ROOM_EXPIRED') this.fail('ROOM_EXPIRED');
          // The server no longer counts this socket in the room (a resume it refused): join again.
          if (code === 'NOT_JOINED') this.join();
          resolve({ code, message: res?.message });
        });
    });
  }

  sendTyping(): void {
    if (this.canSend) this.socket.emit('typing', { roomId: this.room.id });
  }

  /** Renames through REST; the server announces it (and refuses a name in use: NICKNAME_TAKEN). */
  async rename(nickname: string): Promise<Chatter> {
    if (!this.me) throw new ApiError('not joined', 0, 'NOT_JOINED');
    const updated = await renameChatter(this.me.id, this.token, nickname);
    this.me.nickname = updated.nickname;
    this.emit('me');
    return updated;
  }

  /** The server says the room expired. */
  expired(): void {
    this.fail('ROOM_EXPIRED');
  }
}
