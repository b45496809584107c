// /chat/<roomId>: a room the person is in shows at once (the session holds it); otherwise
// find the room, confirm entry (flagging a full room before any click, asking a locked
// room's password), then join over the session's connection. A saved identity skips the
// confirmation: a reload rejoins.

import { accessCheck, ApiError, getRoom } from '../api';
import type { App, View } from '../app';
import { ChatView } from '../chat';
import { charLength, h, icon } from '../dom';
import type { JoinedRoom } from '../joined';
import { forgetIdentity, loadIdentity } from '../storage';
import type { Room } from '../types';
import { topBar } from './chrome';
import { PASSWORD_MAX } from './home';
import { screenBody } from './screens';

/** How often a full room's entry screen asks whether a place is free. */
const FULL_POLL_MS = 4000;

function isExpired(room: Room, now = Date.now()): boolean {
  return room.isExpired || Date.parse(room.expiresAt) <= now;
}

/** Chatters online now: the server's count, else the active memberships (older servers). */
function onlineCount(room: Room): number | null {
  if (typeof room.online === 'number') return room.online;
  if (!Array.isArray(room.roomChatters)) return null;
  return room.roomChatters.filter((rc) => rc.isActive !== false).length;
}

export function roomView(app: App, roomId: string): View {
  const { i18n } = app;
  const el = h('div', { class: 'page room-page' });
  let chat: ChatView | null = null;
  let unwatch: (() => void) | null = null;
  let poll = 0;
  let destroyed = false;

  const show = (...nodes: HTMLElement[]) => {
    if (destroyed) return;
    clearInterval(poll);
    el.replaceChildren(...nodes);
  };
  const framed = (body: HTMLElement) => show(topBar(app), h('main', { class: 'center' }, body));
  const loading = () =>
    framed(i18n.text(h('p', { class: 'loading', attrs: { role: 'status', 'aria-live': 'polite' } }), 'common.loading'));

  const closeChat = () => {
    chat?.destroy();
    chat = null;
  };

  const outcome = (code: string, detail?: string) => {
    closeChat();
    if (code === 'ROOM_EXPIRED') forgetIdentity(roomId);
    const final = code === 'ROOM_NOT_FOUND' || code === 'ROOM_EXPIRED';
    framed(screenBody(app, code, { detail, onRetry: final ? undefined : start }));
  };

  /** After "나가기": the goodbye, with a way back in (as a newcomer) and a way home. */
  const left = () => {
    unwatch?.();
    unwatch = null;
    closeChat();
    framed(screenBody(app, 'LEFT', { onAgain: start }));
  };

  /** Follows the room's state: the chat once joined, a screen when it fails. */
  function watch(r: JoinedRoom) {
    unwatch?.();
    const render = () => {
      if (destroyed) return;
      if (r.state === 'joined' && !chat) {
        chat = new ChatView(app, r, left);
        show(chat.el);
        chat.shown();
      } else if (r.state === 'failed') {
        unwatch?.();
        unwatch = null;
        failed(r);
      }
    };
    unwatch = r.subscribe((c) => c === 'state' && render());
    if (r.state === 'joining') loading();
    render();
  }

  function failed(r: JoinedRoom) {
    const { code, message } = r.failure ?? { code: 'ERROR' };
    closeChat();
    if (code === 'FORBIDDEN' || code === 'CHATTER_NOT_FOUND') {
      // The saved identity is no longer valid: enter as a new chatter.
      forgetIdentity(r.id);
      confirm(r.room);
    } else if (code === 'PASSWORD_REQUIRED' || code === 'WRONG_PASSWORD') {
      confirm(r.room, code === 'WRONG_PASSWORD');
    } else outcome(code, message);
  }

  async function enter(room: Room, password: string | undefined): Promise<'wrong' | 'ok'> {
    const res = await accessCheck(room.id, password);
    if (!res.allowed) return 'wrong';
    watch(app.session.open(room, { ticket: res.ticket, password }));
    return 'ok';
  }

  function confirm(room: Room, wrongPassword = false) {
    const heading = i18n.text(h('h1', { attrs: { tabindex: '-1' } }), 'enter.heading');
    const meta = h('ul', { class: 'room-meta' });
    const fullNote = h('p', { class: 'full-note', attrs: { role: 'status', id: 'enter-full' } });
    const error = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'enter-error' } });
    const submit = h('button', { class: 'btn primary block', attrs: { type: 'submit', 'aria-describedby': 'enter-full' } });
    let full = false;

    const renderMeta = (r: Room) => {
      const expires = h('span');
      i18n.text(expires, 'enter.expiresIn', { time: i18n.duration(Date.parse(r.expiresAt) - Date.now()) });
      const online = onlineCount(r);
      full = online !== null && online >= r.capacity;
      meta.replaceChildren(h('li', {}, icon('users', 16), i18n.text(h('span'), 'enter.capacity', { n: r.capacity })));
      if (online !== null) {
        const dot = h('span', { class: `dot ${full ? 'full' : 'on'}`, attrs: { 'aria-hidden': 'true' } });
        meta.append(h('li', { class: full ? 'full' : '' }, dot, i18n.text(h('span'), 'enter.online', { n: online })));
      }
      meta.append(h('li', {}, icon('clock', 16), expires));
      // A full room says so before any click; the button waits for a free place.
      submit.disabled = full;
      i18n.text(submit, full ? 'enter.fullButton' : 'enter.submit');
      if (full) i18n.text(fullNote, 'enter.full');
      else {
        fullNote.textContent = '';
        delete fullNote.dataset.t;
      }
    };

    let password: HTMLInputElement | null = null;
    const form = h(
      'form',
      { class: 'card form enter', attrs: { novalidate: true, 'aria-labelledby': 'enter-title' } },
      heading,
      h('p', { class: 'room-title', attrs: { id: 'enter-title' } }, room.isPassword ? icon('lock', 18) : null, h('span', { text: room.title })),
      meta,
      fullNote,
    );
    if (room.isPassword) {
      password = h('input', {
        attrs: {
          id: 'enter-password',
          type: 'password',
          autocomplete: 'current-password',
          required: true,
          'aria-describedby': 'enter-error',
          'aria-invalid': wrongPassword ? 'true' : undefined,
        },
      });
      form.append(
        i18n.text(h('p', { class: 'hint' }), 'enter.locked'),
        h('div', { class: 'field' }, i18n.text(h('label', { attrs: { for: 'enter-password' } }), 'enter.password'), password),
      );
    }
    form.append(error, submit);
    if (wrongPassword) i18n.text(error, 'enter.wrongPassword');
    renderMeta(room);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (full) return;
      const pw = password?.value ?? '';
      if (password && (!pw || charLength(pw) > PASSWORD_MAX)) {
        i18n.text(error, 'enter.wrongPassword');
        password.setAttribute('aria-invalid', 'true');
        password.focus();
        return;
      }
      submit.disabled = true;
      i18n.text(submit, 'enter.entering');
      try {
        if ((await enter(room, pw || undefined)) === 'wrong') {
          submit.disabled = false;
          i18n.text(submit, 'enter.submit');
          i18n.text(error, 'enter.wrongPassword');
          if (password) {
            password.setAttribute('aria-invalid', 'true');
            password.select();
            password.focus();
          }
        }
      } catch (err) {
        submit.disabled = false;
        i18n.text(submit, 'enter.submit');
        const e = err instanceof ApiError ? err : new ApiError(String(err), 0, 'INTERNAL');
        if (e.code === 'ROOM_FULL' || e.code === 'ROOM_EXPIRED' || e.code === 'ROOM_NOT_FOUND') outcome(e.code);
        else {
          delete error.dataset.t;
          error.textContent = e.message;
        }
      }
    });

    framed(form);
    // While the screen shows, the count stays current: a place that frees up enables the button.
    poll = window.setInterval(async () => {
      try {
        const fresh = await getRoom(room.id);
        if (!destroyed && form.isConnected) renderMeta(fresh);
      } catch {
        // The next try, or the click, will tell.
      }
    }, FULL_POLL_MS);
    queueMicrotask(() => (password && wrongPassword ? password.focus() : heading.focus()));
  }

  async function start() {
    const existing = app.session.get(roomId);
    if (existing && existing.state !== 'failed') {
      app.setTitle(`${existing.room.title} · Cola Chat`);
      return watch(existing);
    }
    loading();
    const handoff = app.takeHandoff(roomId);
    let room: Room;
    try {
      room = await getRoom(roomId);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(String(err), 0, 'INTERNAL');
      return outcome(e.code === 'ROOM_EXPIRED' ? 'ROOM_EXPIRED' : e.status === 404 ? 'ROOM_NOT_FOUND' : 'ERROR', e.message);
    }
    if (destroyed) return;
    app.setTitle(`${room.title} · Cola Chat`);
    if (isExpired(room)) return outcome('ROOM_EXPIRED');
    const saved = loadIdentity(room.id);
    if (saved) return watch(app.session.open(room, { identity: { chatterId: saved.chatterId, token: saved.token } }, saved.lastRead));
    if (handoff) {
      // The creator walks straight in, with the password they just chose.
      try {
        if ((await enter(room, handoff.password)) === 'ok') return;
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError(String(err), 0, 'INTERNAL');
        return outcome(e.code, e.message);
      }
    }
    confirm(room);
  }

  void start();
  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(poll);
      unwatch?.();
      closeChat(); // the person stays in the room: only the screen goes
    },
  };
}
