// A room's screen: header, feed, composer and room menu, over a JoinedRoom that lives in the
// session. Closing the screen (the back arrow) keeps the person in the room; only the menu's
// "나가기", confirmed, leaves it.

import { ApiError } from './api';
import type { App } from './app';
import { charLength, h, icon } from './dom';
import type { Key } from './i18n';
import type { ConnectionStatus, JoinedRoom, RoomChange } from './joined';
import type { Chatter } from './types';
import { counted } from './views/home';

export const MESSAGE_MAX = 1000;
export const NICKNAME_MAX = 10;
const TYPING_EVERY_MS = 2000;

export class ChatView {
  readonly el: HTMLElement;
  private closed = false;
  private lastTypingSent = 0;
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
  private readonly invite = h('div', { class: 'invite', attrs: { hidden: true } });
  private readonly leaveDialog = h('dialog', { class: 'confirm', attrs: { 'aria-labelledby': 'leave-title', 'aria-describedby': 'leave-text' } });

  constructor(
    private readonly app: App,
    private readonly room: JoinedRoom,
    private readonly onLeft: () => void,
  ) {
    this.el = this.build();
    this.cleanups.push(room.subscribe((c) => this.onChange(c)));
    this.timers.push(window.setInterval(() => this.tick(), 1000));
    this.tick();
    this.showMe();
    this.renderChatters(room.chatters);
    this.renderTyping();
    this.setStatus(room.status);
  }

  /** Called once the screen is in the page: the feed goes back where the reader was. */
  shown(): void {
    this.room.feed.attach();
    this.room.setViewing(true); // after attach: the new-messages line is scrolled to once in view
    if (matchMedia('(pointer: fine)').matches) this.input.focus();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.room.setViewing(false);
    this.room.feed.detach();
    for (const t of this.timers) clearInterval(t);
    for (const fn of this.cleanups) fn();
    if (this.leaveDialog.open) this.leaveDialog.close();
  }

  private onChange(c: RoomChange): void {
    if (this.closed) return;
    if (c === 'me') this.showMe();
    else if (c === 'chatters') this.renderChatters(this.room.chatters);
    else if (c === 'typing') this.renderTyping();
    else if (c === 'status' || c === 'state') this.setStatus(this.room.status);
  }

  private showMe(): void {
    const me = this.room.me;
    if (!me || document.activeElement === this.nickInput) return;
    this.nickInput.value = me.nickname;
    this.nickInput.dispatchEvent(new Event('input'));
    this.renderChatters(this.room.chatters);
  }

  // ---- sending ---------------------------------------------------------------------------

  private async send(): Promise<void> {
    const text = this.input.value;
    if (!text.trim()) return;
    if (charLength(text) > MESSAGE_MAX) {
      this.app.i18n.text(this.composerError, 'chat.tooLong', { max: MESSAGE_MAX });
      return;
    }
    if (!this.room.canSend) {
      this.app.i18n.text(this.composerError, 'chat.offline');
      return;
    }
    this.composerError.textContent = '';
    this.input.value = '';
    this.input.dispatchEvent(new Event('input'));
    this.lastTypingSent = 0;
    this.room.feed.markUnreadAfter(undefined); // answering: the line has served
    const refused = await this.room.send(text);
    if (this.closed || !refused) return;
    delete this.composerError.dataset.t;
    this.composerError.textContent = refused.message || this.app.i18n.t('chat.sendFailed');
    if (!this.input.value) {
      this.input.value = text;
      this.input.dispatchEvent(new Event('input'));
    }
  }

  private onInput(): void {
    this.autosize();
    if (!this.input.value) return;
    const now = Date.now();
    if (now - this.lastTypingSent >= TYPING_EVERY_MS) {
      this.lastTypingSent = now;
      this.room.sendTyping();
    }
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  private renderTyping(): void {
    const names = [...this.room.typing.values()].map((t) => t.nickname);
    const { i18n } = this.app;
    if (names.length === 0) {
      this.typingEl.textContent = '';
      delete this.typingEl.dataset.t;
    } else if (names.length === 1) i18n.text(this.typingEl, 'chat.typing1', { a: names[0] });
    else if (names.length === 2) i18n.text(this.typingEl, 'chat.typing2', { a: names[0], b: names[1] });
    else i18n.text(this.typingEl, 'chat.typingMany');
  }

  // ---- status, expiry, people -------------------------------------------------------------

  private setStatus(status: ConnectionStatus): void {
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
          h('button', { class: 'btn small', attrs: { type: 'button' }, on: { click: () => this.app.session.reconnect(this.room.room.namespace) } }),
          'status.reconnect',
        );
        this.banner.replaceChildren(text, again);
      } else this.banner.replaceChildren(text);
    }
    this.sendBtn.disabled = status !== 'connected' || this.room.state !== 'joined';
  }

  private tick(): void {
    const left = Date.parse(this.room.room.expiresAt) - Date.now();
    const { i18n } = this.app;
    if (left > 0) i18n.text(this.countdown, 'chat.remaining', { time: i18n.duration(left) });
    else i18n.text(this.countdown, 'chat.expiring');
    this.countdown.classList.toggle('soon', left < 5 * 60 * 1000);
  }

  private renderChatters(list: Chatter[]): void {
    const { i18n } = this.app;
    const meId = this.room.me?.id;
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
    const count = `${list.length}/${this.room.room.capacity || '?'}`;
    i18n.text(this.onlineHeading, 'chat.online');
    this.onlineHeading.append(h('span', { class: 'muted', text: ` ${count}` }));
    this.countHeader.textContent = count;
    // Alone in the room: the invitation is the next thing to do.
    this.invite.hidden = list.length > 1;
  }

  // ---- screen ----------------------------------------------------------------------------

  private build(): HTMLElement {
    const { i18n } = this.app;
    const info = this.room.room;
    const url = this.app.roomUrl(info.id);

    const copy = async () => {
      this.app.toast(i18n.t((await this.app.copy(url)) ? 'chat.copied' : 'chat.copyFailed'));
    };

    // Back to the room list; the person stays in the room.
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
    i18n.attr(back, 'aria-label', 'chat.backToRooms');

    this.statusEl.append(h('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), this.statusText);
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
        h('h1', {}, info.isPassword ? icon('lock', 16) : null, h('span', { text: info.title })),
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
        void this.send();
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
            void this.send();
          },
        },
      },
      this.typingEl,
      this.composerError,
      h('div', { class: 'composer-row' }, this.input, this.sendBtn),
      h('div', { class: 'composer-foot' }, i18n.text(h('span', { class: 'hint', attrs: { id: 'composer-hint' } }), 'chat.hint'), counter),
    );

    this.buildPanel(url, copy);
    this.buildLeaveDialog();
    this.backdrop.addEventListener('click', () => this.togglePanel(false));
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape' && this.panel.classList.contains('open') && !this.leaveDialog.open) {
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
    const main = h('main', { class: 'chat-main' }, this.banner, this.invite, this.room.feed.el, composer);
    return h('div', { class: 'chat' }, header, h('div', { class: 'chat-body' }, main, this.backdrop, this.panel), this.leaveDialog);
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
    this.nickInput.addEventListener('input', () => {
      this.nickInput.removeAttribute('aria-invalid');
    });
    nickForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const me = this.room.me;
      const nickname = this.nickInput.value.trim();
      this.nickError.textContent = '';
      delete this.nickError.dataset.t;
      if (!me || !nickname || nickname === me.nickname) return;
      if (charLength(nickname) > NICKNAME_MAX) {
        i18n.text(this.nickError, 'form.tooLong', { max: NICKNAME_MAX });
        return;
      }
      try {
        const updated = await this.room.rename(nickname);
        this.nickInput.value = updated.nickname;
        this.app.toast(i18n.t('chat.nicknameChanged'));
      } catch (err) {
        this.nickInput.setAttribute('aria-invalid', 'true');
        if (err instanceof ApiError && err.code === 'NICKNAME_TAKEN') {
          i18n.text(this.nickError, 'chat.nicknameTaken', { nickname });
        } else {
          this.nickError.textContent = err instanceof Error ? err.message : String(err);
        }
        this.nickInput.focus();
      }
    });

    const people = h('section', { class: 'panel-section people' }, this.onlineHeading, this.onlineList);
    i18n.text(this.onlineHeading, 'chat.online');

    const expires = h('p', { class: 'expires' }, icon('clock', 16), h('span', {}, i18n.text(h('span', { class: 'muted' }), 'chat.expiresAt'), ' ', h('time', { attrs: { datetime: this.room.room.expiresAt } })));
    const expTime = expires.querySelector('time')!;
    const setExp = () => (expTime.textContent = i18n.dateTime(this.room.room.expiresAt));
    setExp();
    this.cleanups.push(i18n.onChange(setExp));

    const leave = h(
      'button',
      {
        class: 'btn danger block',
        attrs: { type: 'button' },
        // The dialog focuses its first button, the safe "cancel".
        on: { click: () => this.leaveDialog.showModal() },
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

  /** "채팅방을 나갈까요?": leaving is final, so it is asked once. */
  private buildLeaveDialog(): void {
    const { i18n } = this.app;
    const cancel = i18n.text(
      h('button', { class: 'btn', attrs: { type: 'button', value: 'cancel' }, on: { click: () => this.leaveDialog.close() } }),
      'common.cancel',
    );
    const confirm = i18n.text(
      h('button', { class: 'btn primary', attrs: { type: 'button', value: 'leave' }, on: { click: () => this.leave() } }),
      'leave.confirm',
    );
    this.leaveDialog.append(
      i18n.text(h('h2', { attrs: { id: 'leave-title' } }), 'leave.title'),
      i18n.text(h('p', { class: 'muted', attrs: { id: 'leave-text' } }), 'leave.text'),
      h('div', { class: 'actions' }, cancel, confirm),
    );
  }

  private togglePanel(open = !this.panel.classList.contains('open')): void {
    this.panel.classList.toggle('open', open);
    this.menuBtn.setAttribute('aria-expanded', String(open));
    this.syncPanel();
    if (open) (this.panel.querySelector('input, button') as HTMLElement | null)?.focus();
  }

  /** On narrow screens the panel is a drawer: out of the tab order (and out of sight) while closed. */
  private syncPanel(): void {
    const wide = matchMedia('(min-width: 960px)').matches;
    const open = this.panel.classList.contains('open');
    this.panel.inert = !wide && !open;
    this.backdrop.hidden = wide || !open;
  }

  private leave(): void {
    this.leaveDialog.close();
    this.app.session.leave(this.room.id);
    this.onLeft();
  }
}
