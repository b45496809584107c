// A joined room: the socket session (join, recovery, gap filling, typing, expiry) and the
// screen around the feed (header, composer, room menu).

import { io, type Socket } from 'socket.io-client';
import { ApiError, errorCode, getMessages, PAGE_SIZE, renameChatter } from './api';
import type { App } from './app';
import { charLength, h, icon } from './dom';
import { Feed } from './feed';
import type { Key } from './i18n';
import { forgetIdentity, saveIdentity } from './storage';
import type { Chatter, Envelope, Identity, JoinedChatter, Message, Room } from './types';
import { counted } from './views/home';

export const MESSAGE_MAX = 1000;
export const NICKNAME_MAX = 10;
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 3000;
const ACK_TIMEOUT_MS = 15000;
const GAP_PAGE = 100;

export interface JoinCredentials {
  identity?: Identity;
  ticket?: string;
  password?: string;
}

export interface ChatHandlers {
  /** The first join succeeded: the chat can be shown. */
  ready(): void;
  /** The room cannot be (or can no longer be) used; code is the server's reason. */
  fail(code: string, message?: string): void;
  /** The person left the room on purpose. */
  left(): void;
}

type Status = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export class ChatRoom {
  readonly el: HTMLElement;
  private readonly socket: Socket;
  private readonly feed: Feed;
  private me: Chatter | null = null;
  private token = '';
  private joined = false;
  private closed = false;
  private olderLoading = false;
  private hasMore = true;
  private gapRunning = false;
  private lastTypingSent = 0;
  private readonly typing = new Map<string, { nickname: string; timer: number }>();
  private readonly timers: number[] = [];
  private readonly cleanups: Array<() => void> = [];

  // Elements that change while chatting.
  private readonly statusEl = h('span', { class: 'status' });
  private readonly statusText = h('span', { class: 'status-text' });
  private readonly banner = h('div', { class: 'banner', attrs: { role: 'status', hidden: true } });
  private readonly countdown = h('span', { class: 'countdown' });
  private readonly countHeader = h('span', { class: 'count' });
  private readonly typingEl = h('p', { class: 'typing', attrs: { 'aria-live': 'off' } });
  private readonly input = h('textarea', {
    attrs: { id: 'composer-input', rows: 1, enterkeyhint: 'send', autocomplete: 'off', 'aria-describedby': 'composer-hint' },
  });
  private readonly sendBtn = h('button', { class: 'btn primary send', attrs: { type: 'submit' } });
  private readonly composerError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  private readonly panel = h('aside', { class: 'panel', attrs: { id: 'room-panel' } });
  private readonly menuBtn = h('button', { class: 'icon-btn menu-btn', attrs: { type: 'button', 'aria-controls': 'room-panel', 'aria-expanded': 'false' } });
  private readonly onlineList = h('ul', { class: 'online' });
  private readonly onlineHeading = h('h2');
  private readonly nickInput = h('input', { attrs: { id: 'nick-input', type: 'text', autocomplete: 'off', 'aria-describedby': 'nick-error' } });
  private readonly nickError = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'nick-error' } });
  private readonly backdrop = h('div', { class: 'backdrop', attrs: { hidden: true } });
  private chatters: Chatter[] = [];
  private readonly invite = h('div', { class: 'invite', attrs: { hidden: true } });

  constructor(
    private readonly app: App,
    private readonly room: Room,
    private readonly creds: JoinCredentials,
    private readonly handlers: ChatHandlers,
  ) {
    this.feed = new Feed(app.i18n, { myId: () => this.me?.id ?? '', loadOlder: () => void this.loadOlder() });
    this.socket = io(`/${room.namespace}`, {
      autoConnect: false,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      // A connection attempt into a dead network can hang; give up on it sooner than the default 20 s.
      timeout: 8000,
    });
    this.el = this.build();
  }

  start(): void {
    const s = this.socket;
    s.on('connect', () => this.onConnect());
    s.on('disconnect', (reason) => {
      this.joined = false;
      this.setStatus(reason === 'io server disconnect' || reason === 'io client disconnect' ? 'disconnected' : 'reconnecting');
    });
    let failedFirstConnects = 0;
    s.on('connect_error', (err: Error) => {
      if (!this.me && (!s.active || ++failedFirstConnects >= 3)) {
        // Never got in: say so instead of loading forever.
        this.handlers.fail(s.active ? 'NETWORK' : 'ERROR', err.message);
        return;
      }
      if (!s.active) this.setStatus('disconnected');
      else this.setStatus(this.me ? 'reconnecting' : 'connecting');
    });
    s.on('sendMessage', (m: Message) => this.onMessages([m]));
    s.on('sendAlert', (m: Message) => this.onMessages([m]));
    s.on('returnChatters', (list: Chatter[]) => this.renderChatters(Array.isArray(list) ? list : []));
    s.on('typing', (ev: { chatterId?: string; nickname?: string }) => this.onTyping(ev));
    s.on('roomExpired', (ev: { roomId?: string }) => {
      if (!ev?.roomId || ev.roomId === this.room.id) this.handlers.fail('ROOM_EXPIRED');
    });
    s.on('message', (raw: unknown) => {
      // The original server's error channel: a JSON envelope as a string.
      try {
        const env = typeof raw === 'string' ? (JSON.parse(raw) as Envelope<null>) : (raw as Envelope<null>);
        if (env && env.success === false && errorCode(env) === 'ROOM_EXPIRED') this.handlers.fail('ROOM_EXPIRED');
      } catch {
        // Not an envelope: nothing to do.
      }
    });
    s.connect();
    this.timers.push(window.setInterval(() => this.tick(), 1000));
    this.tick();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.removeAllListeners();
    this.socket.disconnect();
    for (const t of this.timers) clearInterval(t);
    for (const { timer } of this.typing.values()) clearTimeout(timer);
    for (const fn of this.cleanups) fn();
    this.feed.destroy();
  }

  // ---- session ---------------------------------------------------------------------------

  private onConnect(): void {
    if (this.socket.recovered && this.me) {
      // The server restored our rooms and replays what we missed; fill any rest from history.
      this.joined = true;
      this.setStatus('connected');
      void this.fillGap();
      return;
    }
    this.emitJoin();
  }

  private emitJoin(): void {
    const first = !this.me;
    const payload: Record<string, unknown> = { roomId: this.room.id, chatterId: null };
    const identity = this.me ? { chatterId: this.me.id, token: this.token } : this.creds.identity;
    if (identity) {
      payload.chatterId = identity.chatterId;
      if (identity.token) payload.token = identity.token;
    } else {
      if (this.creds.ticket) payload.ticket = this.creds.ticket;
      if (this.creds.password) payload.password = this.creds.password;
    }
    this.socket.timeout(ACK_TIMEOUT_MS).emit('joinRoom', payload, (err: Error | null, res: Envelope<JoinedChatter | null>) => {
      if (this.closed) return;
      if (err) {
        // No answer: try again on a fresh connection.
        this.socket.disconnect().connect();
        return;
      }
      if (!res?.success || !res.data) {
        this.handlers.fail(errorCode(res), res?.message);
        return;
      }
      const data = res.data;
      this.token = data.token ?? identity?.token ?? '';
      this.me = { id: data.id, nickname: data.nickname };
      this.joined = true;
      saveIdentity({ roomId: this.room.id, chatterId: data.id, token: this.token, title: this.room.title, expiresAt: this.room.expiresAt });
      this.nickInput.value = data.nickname;
      this.nickInput.dispatchEvent(new Event('input'));
      this.renderChatters(this.chatters);
      this.setStatus('connected');
      if (first) {
        this.handlers.ready();
        void this.loadInitial();
        if (matchMedia('(pointer: fine)').matches) this.input.focus();
      } else {
        void this.fillGap();
      }
    });
  }

  private async loadInitial(): Promise<void> {
    if (!this.me) return;
    this.olderLoading = true;
    this.feed.setHistoryState(false, true);
    try {
      const page = await getMessages(this.room.id, this.me.id, this.token, {});
      if (this.closed) return;
      this.hasMore = page.length >= PAGE_SIZE;
      this.feed.add(page, 'live');
      this.feed.scrollToBottom();
    } catch (err) {
      this.showError(err);
    } finally {
      this.olderLoading = false;
      this.feed.setHistoryState(this.hasMore, false);
    }
    // A short first page may not fill the screen: keep loading while the top is in view.
    if (this.feed.wantsOlder()) void this.loadOlder();
  }

  private async loadOlder(): Promise<void> {
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

  /** After a reconnect: fetch every message newer than the last one shown. */
  private async fillGap(): Promise<void> {
    if (!this.me || this.gapRunning) return;
    let after = this.feed.newestId;
    if (after === undefined) return this.loadInitial();
    this.gapRunning = true;
    try {
      for (let i = 0; i < 50; i++) {
        const page = await getMessages(this.room.id, this.me.id, this.token, { after }, GAP_PAGE);
        if (this.closed) return;
        this.onMessages(page);
        if (page.length < GAP_PAGE) break;
        after = page[page.length - 1].id;
      }
    } catch (err) {
      this.showError(err);
    } finally {
      this.gapRunning = false;
    }
  }

  private onMessages(msgs: Message[]): void {
    const mine = msgs.filter((m) => m && (m.roomId === undefined || m.roomId === this.room.id));
    for (const m of mine) {
      if (m.type === 'MESSAGE' && m.chatterId) this.stopTyping(m.chatterId);
      if (m.type === 'ALERT' && m.alert?.kind === 'rename' && m.chatterId === this.me?.id && m.alert.newNickname) {
        this.me.nickname = m.alert.newNickname;
      }
    }
    this.feed.add(mine, 'live');
  }

  private showError(err: unknown): void {
    if (err instanceof ApiError && err.code === 'ROOM_EXPIRED') return this.handlers.fail('ROOM_EXPIRED');
    this.app.toast(err instanceof Error ? err.message : String(err));
  }

  // ---- sending ---------------------------------------------------------------------------

  private send(): void {
    const text = this.input.value;
    if (!text.trim()) return;
    if (charLength(text) > MESSAGE_MAX) {
      this.app.i18n.text(this.composerError, 'chat.tooLong', { max: MESSAGE_MAX });
      return;
    }
    if (!this.socket.connected || !this.joined) {
      this.app.i18n.text(this.composerError, 'chat.offline');
      return;
    }
    this.composerError.textContent = '';
    this.input.value = '';
    this.input.dispatchEvent(new Event('input'));
    this.lastTypingSent = 0;
    this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emit('sendMessage', { roomId: this.room.id, content: text }, (err: Error | null, res: Envelope<null>) => {
        if (this.closed) return;
        if (!err && res?.success) return;
        if (res && errorCode(res) === 'ROOM_EXPIRED') return this.handlers.fail('ROOM_EXPIRED');
        delete this.composerError.dataset.t;
        this.composerError.textContent = res?.message || this.app.i18n.t('chat.sendFailed');
        if (!this.input.value) {
          this.input.value = text;
          this.input.dispatchEvent(new Event('input'));
        }
      });
  }

  private onInput(): void {
    this.autosize();
    if (!this.input.value || !this.joined) return;
    const now = Date.now();
    if (now - this.lastTypingSent >= TYPING_EVERY_MS) {
      this.lastTypingSent = now;
      this.socket.emit('typing', { roomId: this.room.id });
    }
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  // ---- typing ----------------------------------------------------------------------------

  private onTyping(ev: { chatterId?: string; nickname?: string }): void {
    if (!ev?.chatterId || ev.chatterId === this.me?.id) return;
    const prev = this.typing.get(ev.chatterId);
    if (prev) clearTimeout(prev.timer);
    const timer = window.setTimeout(() => this.stopTyping(ev.chatterId!), TYPING_SHOWN_MS);
    this.typing.set(ev.chatterId, { nickname: ev.nickname ?? '', timer });
    this.renderTyping();
  }

  private stopTyping(chatterId: string): void {
    const t = this.typing.get(chatterId);
    if (!t) return;
    clearTimeout(t.timer);
    this.typing.delete(chatterId);
    this.renderTyping();
  }

  private renderTyping(): void {
    const names = [...this.typing.values()].map((t) => t.nickname);
    const { i18n } = this.app;
    if (names.length === 0) {
      this.typingEl.textContent = '';
      delete this.typingEl.dataset.t;
    } else if (names.length === 1) i18n.text(this.typingEl, 'chat.typing1', { a: names[0] });
    else if (names.length === 2) i18n.text(this.typingEl, 'chat.typing2', { a: names[0], b: names[1] });
    else i18n.text(this.typingEl, 'chat.typingMany');
  }

  // ---- status, expiry, people -------------------------------------------------------------

  private setStatus(status: Status): void {
    if (this.closed) return;
    const { i18n } = this.app;
    const key: Key = `status.${status}`;
    this.statusEl.className = `status ${status}`;
    i18n.text(this.statusText, `status.short.${status}`);
    i18n.attr(this.statusEl, 'title', key);
    this.banner.hidden = status === 'connected' || status === 'connecting';
    if (!this.banner.hidden) {
      const text = i18n.text(h('span'), key);
      if (status === 'disconnected') {
        const again = i18n.text(
          h('button', { class: 'btn small', attrs: { type: 'button' }, on: { click: () => this.socket.connect() } }),
          'status.reconnect',
        );
        this.banner.replaceChildren(text, again);
      } else this.banner.replaceChildren(text);
    }
    this.sendBtn.disabled = status !== 'connected';
  }

  private tick(): void {
    const left = Date.parse(this.room.expiresAt) - Date.now();
    const { i18n } = this.app;
    if (left > 0) i18n.text(this.countdown, 'chat.remaining', { time: i18n.duration(left) });
    else i18n.text(this.countdown, 'chat.expiring');
    this.countdown.classList.toggle('soon', left < 5 * 60 * 1000);
  }

  private renderChatters(list: Chatter[]): void {
    this.chatters = list;
    const { i18n } = this.app;
    const meId = this.me?.id;
    const sorted = [...list].sort((a, b) => (a.id === meId ? -1 : b.id === meId ? 1 : 0));
    this.onlineList.replaceChildren(
      ...sorted.map((c) =>
        h(
          'li',
          { class: c.id === meId ? 'me' : '' },
          h('span', { class: 'avatar', attrs: { 'aria-hidden': 'true' }, text: [...c.nickname][0] ?? '?' }),
          h('span', { class: 'who', text: c.nickname }),
          c.id === meId ? i18n.text(h('span', { class: 'badge' }), 'chat.me') : null,
        ),
      ),
    );
    const count = `${list.length}/${this.room.capacity}`;
    i18n.text(this.onlineHeading, 'chat.online');
    this.onlineHeading.append(h('span', { class: 'muted', text: ` ${count}` }));
    this.countHeader.textContent = count;
    // Alone in the room: the invitation is the next thing to do.
    this.invite.hidden = list.length > 1;
  }

  // ---- screen ----------------------------------------------------------------------------

  private build(): HTMLElement {
    const { i18n } = this.app;
    const url = this.app.roomUrl(this.room.id);

    const copy = async () => {
      this.app.toast(i18n.t((await this.app.copy(url)) ? 'chat.copied' : 'chat.copyFailed'));
    };

    const back = h(
      'a',
      {
        class: 'icon-btn',
        attrs: { href: '/' },
        on: {
          click: (ev) => {
            ev.preventDefault();
            this.app.navigate('/');
          },
        },
      },
      icon('back'),
    );
    i18n.attr(back, 'aria-label', 'common.home');

    this.statusEl.append(h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), this.statusText);
    this.setStatus('connecting');
    const copyBtn = h('button', { class: 'icon-btn', attrs: { type: 'button' }, on: { click: () => void copy() } }, icon('link'));
    i18n.attr(copyBtn, 'aria-label', 'chat.copyLink');
    i18n.attr(copyBtn, 'title', 'chat.copyLink');
    this.menuBtn.append(icon('users'), this.countHeader);
    i18n.attr(this.menuBtn, 'aria-label', 'chat.menu');
    this.menuBtn.addEventListener('click', () => this.togglePanel());

    const header = h(
      'header',
      { class: 'room-header' },
      back,
      h(
        'div',
        { class: 'room-heading' },
        h('h1', {}, this.room.isPassword ? icon('lock', 16) : null, h('span', { text: this.room.title })),
        h('p', { class: 'room-sub' }, this.statusEl, h('span', { class: 'sep', attrs: { 'aria-hidden': 'true' } }), icon('clock', 14), this.countdown),
      ),
      copyBtn,
      this.menuBtn,
    );
    i18n.attr(this.countdown, 'aria-label', 'chat.remainingLabel');

    // Composer
    i18n.attr(this.input, 'placeholder', 'chat.placeholder');
    i18n.attr(this.input, 'aria-label', 'chat.inputLabel');
    this.sendBtn.append(icon('send', 18), i18n.text(h('span', { class: 'sr-only' }), 'chat.send'));
    this.input.addEventListener('input', () => this.onInput());
    this.input.addEventListener('keydown', (ev) => {
      // Enter sends; Shift+Enter breaks the line; Enter that ends an IME composition (Korean) does neither.
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        this.send();
      }
    });
    const counter = counted(this.input, MESSAGE_MAX);
    const composer = h(
      'form',
      {
        class: 'composer',
        attrs: { novalidate: true },
        on: {
          submit: (ev) => {
            ev.preventDefault();
            this.send();
          },
        },
      },
      this.typingEl,
      this.composerError,
      h('div', { class: 'composer-row' }, this.input, this.sendBtn),
      h('div', { class: 'composer-foot' }, i18n.text(h('span', { class: 'hint', attrs: { id: 'composer-hint' } }), 'chat.hint'), counter),
    );

    this.buildPanel(url, copy);
    this.backdrop.addEventListener('click', () => this.togglePanel(false));
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape' && this.panel.classList.contains('open')) {
        this.togglePanel(false);
        this.menuBtn.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    this.cleanups.push(() => document.removeEventListener('keydown', onKey));
    const wide = matchMedia('(min-width: 960px)');
    const onWide = () => this.syncPanel();
    wide.addEventListener('change', onWide);
    this.cleanups.push(() => wide.removeEventListener('change', onWide));
    this.syncPanel();

    this.invite.append(
      h('p', {}, i18n.text(h('strong'), 'chat.shareTitle'), ' ', i18n.text(h('span', { class: 'muted' }), 'chat.shareText')),
      i18n.text(h('button', { class: 'btn primary small', attrs: { type: 'button' }, on: { click: () => void copy() } }), 'chat.copyLink'),
    );
    const main = h('main', { class: 'chat-main' }, this.banner, this.invite, this.feed.el, composer);
    return h('div', { class: 'chat' }, header, h('div', { class: 'chat-body' }, main, this.backdrop, this.panel));
  }

  private buildPanel(url: string, copy: () => Promise<void>): void {
    const { i18n } = this.app;
    const close = h('button', { class: 'icon-btn close', attrs: { type: 'button' }, on: { click: () => this.togglePanel(false) } }, icon('close'));
    i18n.attr(close, 'aria-label', 'chat.closeMenu');

    const urlInput = h('input', { attrs: { id: 'room-url', type: 'text', readonly: true }, on: { focus: (ev) => (ev.target as HTMLInputElement).select() } });
    urlInput.value = url;
    const share = h(
      'section',
      { class: 'panel-section share' },
      i18n.text(h('h2'), 'chat.shareTitle'),
      i18n.text(h('p', { class: 'muted' }), 'chat.shareText'),
      i18n.text(h('label', { class: 'sr-only', attrs: { for: 'room-url' } }), 'chat.roomUrl'),
      h(
        'div',
        { class: 'inline' },
        urlInput,
        i18n.text(h('button', { class: 'btn primary small', attrs: { type: 'button' }, on: { click: () => void copy() } }), 'chat.copyLink'),
      ),
    );

    const nickForm = h(
      'form',
      { class: 'panel-section nick-form', attrs: { novalidate: true } },
      h('div', { class: 'label-row' }, i18n.text(h('label', { attrs: { for: 'nick-input' } }), 'chat.nickname'), counted(this.nickInput, NICKNAME_MAX)),
      h('div', { class: 'inline' }, this.nickInput, i18n.text(h('button', { class: 'btn small', attrs: { type: 'submit' } }), 'chat.changeNickname')),
      this.nickError,
    );
    nickForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const nickname = this.nickInput.value.trim();
      this.nickError.textContent = '';
      if (!this.me || !nickname || nickname === this.me.nickname) return;
      if (charLength(nickname) > NICKNAME_MAX) {
        i18n.text(this.nickError, 'form.tooLong', { max: NICKNAME_MAX });
        return;
      }
      try {
        const updated = await renameChatter(this.me.id, this.token, nickname);
        this.me.nickname = updated.nickname;
        this.nickInput.value = updated.nickname;
        this.app.toast(i18n.t('chat.nicknameChanged'));
      } catch (err) {
        delete this.nickError.dataset.t;
        this.nickError.textContent = err instanceof Error ? err.message : String(err);
      }
    });

    const people = h('section', { class: 'panel-section people' }, this.onlineHeading, this.onlineList);
    i18n.text(this.onlineHeading, 'chat.online');

    const expires = h('p', { class: 'expires' }, icon('clock', 16), h('span', {}, i18n.text(h('span', { class: 'muted' }), 'chat.expiresAt'), ' ', h('time', { attrs: { datetime: this.room.expiresAt } })));
    const expTime = expires.querySelector('time')!;
    const setExp = () => (expTime.textContent = i18n.dateTime(this.room.expiresAt));
    setExp();
    this.cleanups.push(i18n.onChange(setExp));

    const leave = h(
      'button',
      {
        class: 'btn danger block',
        attrs: { type: 'button' },
        on: { click: () => this.leave() },
      },
      icon('exit', 18),
    );
    leave.append(i18n.text(h('span'), 'chat.leave'));

    this.panel.append(
      h('div', { class: 'panel-head' }, i18n.text(h('h2', { class: 'sr-only' }), 'chat.menu'), close),
      share,
      nickForm,
      people,
      h('section', { class: 'panel-section info' }, expires, h('div', { class: 'lang-row' }, icon('globe', 16), this.app.langButton())),
      h('section', { class: 'panel-section' }, leave),
    );
  }

  private togglePanel(open = !this.panel.classList.contains('open')): void {
    this.panel.classList.toggle('open', open);
    this.menuBtn.setAttribute('aria-expanded', String(open));
    this.syncPanel();
    if (open) (this.panel.querySelector('input, button') as HTMLElement | null)?.focus();
  }

  /** On narrow screens the panel is a drawer: out of the tab order while closed. */
  private syncPanel(): void {
    const wide = matchMedia('(min-width: 960px)').matches;
    const open = this.panel.classList.contains('open');
    this.panel.inert = !wide && !open;
    this.backdrop.hidden = wide || !open;
  }

  private leave(): void {
    // Leaving is a disconnect (as in the original client); the server announces it.
    this.destroy();
    forgetIdentity(this.room.id);
    this.handlers.left();
  }
}
