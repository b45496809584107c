// /chat/<roomId>: find the room, confirm entry (with the password prompt for a locked room),
// then hand over to the chat. A saved identity skips the confirmation: a reload rejoins.

import { accessCheck, ApiError, getRoom } from '../api';
import type { App, View } from '../app';
import { ChatRoom, type JoinCredentials } from '../chat';
import { charLength, h, icon } from '../dom';
import { forgetIdentity, loadIdentity } from '../storage';
import type { Room } from '../types';
import { topBar } from './chrome';
import { PASSWORD_MAX } from './home';
import { screenBody } from './screens';

function isExpired(room: Room, now = Date.now()): boolean {
  return room.isExpired || Date.parse(room.expiresAt) <= now;
}

function onlineCount(room: Room): number | null {
  if (!Array.isArray(room.roomChatters)) return null;
  return room.roomChatters.filter((rc) => rc.isActive !== false).length;
}

export function roomView(app: App, roomId: string): View {
  const { i18n } = app;
  const el = h('div', { class: 'page room-page' });
  let chat: ChatRoom | null = null;
  let destroyed = false;

  const show = (...nodes: HTMLElement[]) => {
    if (destroyed) return;
    el.replaceChildren(...nodes);
  };
  const framed = (body: HTMLElement) => show(topBar(app), h('main', { class: 'center' }, body));
  const loading = () =>
    framed(i18n.text(h('p', { class: 'loading', attrs: { role: 'status', 'aria-live': 'polite' } }), 'common.loading'));

  const outcome = (code: string, detail?: string) => {
    chat?.destroy();
    chat = null;
    if (code === 'ROOM_EXPIRED') forgetIdentity(roomId);
    const final = code === 'ROOM_NOT_FOUND' || code === 'ROOM_EXPIRED';
    framed(screenBody(app, code, { detail, onRetry: final ? undefined : start }));
  };

  function join(room: Room, creds: JoinCredentials) {
    chat?.destroy();
    chat = new ChatRoom(app, room, creds, {
      ready: () => show(chat!.el),
      fail: (code, message) => {
        if (code === 'FORBIDDEN' || code === 'CHATTER_NOT_FOUND') {
          // The saved identity is no longer valid: enter as a new chatter.
          forgetIdentity(room.id);
          chat?.destroy();
          chat = null;
          confirm(room);
        } else if (code === 'PASSWORD_REQUIRED' || code === 'WRONG_PASSWORD') {
          chat?.destroy();
          chat = null;
          confirm(room, code === 'WRONG_PASSWORD');
        } else outcome(code, message);
      },
      left: () => {
        chat = null;
        app.navigate('/');
      },
    });
    chat.start();
  }

  async function enter(room: Room, password: string | undefined): Promise<'wrong' | 'ok'> {
    const res = await accessCheck(room.id, password);
    if (!res.allowed) return 'wrong';
    join(room, { ticket: res.ticket, password });
    return 'ok';
  }

  function confirm(room: Room, wrongPassword = false) {
    const heading = i18n.text(h('h1', { attrs: { tabindex: '-1' } }), 'enter.heading');
    const meta = h('ul', { class: 'room-meta' });
    meta.append(h('li', {}, icon('users', 16), i18n.text(h('span'), 'enter.capacity', { n: room.capacity })));
    const online = onlineCount(room);
    if (online !== null) meta.append(h('li', {}, h('span', { class: 'dot on', attrs: { 'aria-hidden': 'true' } }), i18n.text(h('span'), 'enter.online', { n: online })));
    const expires = h('span');
    const tick = () => i18n.text(expires, 'enter.expiresIn', { time: i18n.duration(Date.parse(room.expiresAt) - Date.now()) });
    tick();
    meta.append(h('li', {}, icon('clock', 16), expires));

    const error = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'enter-error' } });
    const submit = i18n.text(h('button', { class: 'btn primary block', attrs: { type: 'submit' } }), 'enter.submit');
    let password: HTMLInputElement | null = null;
    const form = h(
      'form',
      { class: 'card form enter', attrs: { novalidate: true, 'aria-labelledby': 'enter-title' } },
      heading,
      h('p', { class: 'room-title', attrs: { id: 'enter-title' } }, room.isPassword ? icon('lock', 18) : null, h('span', { text: room.title })),
      meta,
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

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
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
    queueMicrotask(() => (password && wrongPassword ? password.focus() : heading.focus()));
  }

  async function start() {
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
    document.title = `${room.title} · Cola Chat`;
    if (isExpired(room)) return outcome('ROOM_EXPIRED');
    const saved = loadIdentity(room.id);
    if (saved) return join(room, { identity: { chatterId: saved.chatterId, token: saved.token } });
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
      chat?.destroy();
      chat = null;
    },
  };
}
