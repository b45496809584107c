// The home screen: the rooms you are in (last message, unread count), and opening a new
// room (title, capacity, optional password).

import { ApiError, createRoom, getLimits } from '../api';
import type { App, View } from '../app';
import { charLength, h, icon } from '../dom';
import type { JoinedRoom } from '../joined';
import { topBar } from './chrome';

export const TITLE_MAX = 30;
export const PASSWORD_MAX = 12;
// The sizes offered; those above the server's --max-capacity are taken away once its limits
// are known (GET /chat/limits).
const CAPACITIES = [2, 4, 8, 16, 50, 100, 500, 1000];

/** A text input with a live "n/max" counter; the limit counts characters, not UTF-16 units. */
export function counted(input: HTMLInputElement | HTMLTextAreaElement, max: number): HTMLElement {
  const counter = h('span', { class: 'counter', attrs: { 'aria-hidden': 'true' } });
  const update = () => {
    const n = charLength(input.value);
    counter.textContent = `${n}/${max}`;
    counter.classList.toggle('over', n > max);
  };
  input.addEventListener('input', update);
  update();
  return counter;
}

function createForm(app: App): HTMLFormElement {
  const { i18n } = app;
  const title = h('input', {
    attrs: { id: 'room-title', name: 'title', type: 'text', autocomplete: 'off', required: true, enterkeyhint: 'next' },
  });
  i18n.attr(title, 'placeholder', 'form.titlePlaceholder');

  const capacity = h('div', { class: 'segmented', attrs: { role: 'radiogroup', 'aria-labelledby': 'cap-label' } });
  for (const n of CAPACITIES) {
    const radio = h('input', {
      attrs: { type: 'radio', name: 'capacity', value: n, id: `cap-${n}`, checked: n === 4 },
    });
    const label = i18n.text(h('label', { attrs: { for: `cap-${n}` } }), 'form.capacityN', { n });
    capacity.append(h('span', { class: 'seg', attrs: { 'data-capacity': n } }, radio, label));
  }
  getLimits()
    .then((limits) => {
      for (const seg of capacity.querySelectorAll<HTMLElement>('.seg')) {
        const n = Number(seg.dataset.capacity);
        if (n > limits.maxCapacity || n < limits.minCapacity) seg.remove();
      }
    })
    .catch(() => {
      // Unknown limits: every size stays offered, and the server refuses one it does not allow.
    });

  const usePassword = h('input', { attrs: { type: 'checkbox', id: 'use-password', name: 'isPassword' } });
  const password = h('input', {
    attrs: { id: 'room-password', name: 'password', type: 'password', autocomplete: 'new-password', disabled: true },
  });
  i18n.attr(password, 'placeholder', 'form.passwordPlaceholder');
  const passwordRow = h(
    'div',
    { class: 'field password-field', attrs: { hidden: true } },
    h('div', { class: 'label-row' }, i18n.text(h('label', { attrs: { for: 'room-password' } }), 'form.password'), counted(password, PASSWORD_MAX)),
    password,
  );
  usePassword.addEventListener('change', () => {
    passwordRow.hidden = !usePassword.checked;
    password.disabled = !usePassword.checked;
    if (usePassword.checked) password.focus();
  });

  const error = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'create-error' } });
  const submit = i18n.text(h('button', { class: 'btn primary block', attrs: { type: 'submit' } }), 'form.create');

  const form = h(
    'form',
    { class: 'card form', attrs: { novalidate: true, 'aria-labelledby': 'home-heading' } },
    i18n.text(h('h1', { attrs: { id: 'home-heading' } }), 'home.heading'),
    i18n.text(h('p', { class: 'lead' }), 'home.lead'),
    h(
      'div',
      { class: 'field' },
      h('div', { class: 'label-row' }, i18n.text(h('label', { attrs: { for: 'room-title' } }), 'form.title'), counted(title, TITLE_MAX)),
      title,
    ),
    h('div', { class: 'field' }, i18n.text(h('span', { class: 'label', attrs: { id: 'cap-label' } }), 'form.capacity'), capacity),
    h('div', { class: 'check' }, usePassword, i18n.text(h('label', { attrs: { for: 'use-password' } }), 'form.usePassword')),
    passwordRow,
    error,
    submit,
  );

  const fail = (key: Parameters<typeof i18n.t>[0], args?: Record<string, string | number>, field?: HTMLElement) => {
    i18n.text(error, key, args);
    field?.setAttribute('aria-invalid', 'true');
    field?.focus();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    delete error.dataset.t;
    title.removeAttribute('aria-invalid');
    password.removeAttribute('aria-invalid');
    const t = title.value.trim();
    if (!t) return fail('form.titleRequired', undefined, title);
    if (charLength(t) > TITLE_MAX) return fail('form.tooLong', { max: TITLE_MAX }, title);
    const pw = usePassword.checked ? password.value : '';
    if (usePassword.checked && !pw) return fail('form.passwordRequired', undefined, password);
    if (charLength(pw) > PASSWORD_MAX) return fail('form.tooLong', { max: PASSWORD_MAX }, password);
    const cap = Number((form.querySelector('input[name=capacity]:checked') as HTMLInputElement | null)?.value ?? 4);

    submit.disabled = true;
    i18n.text(submit, 'form.creating');
    try {
      const room = await createRoom({ title: t, capacity: cap, password: pw || undefined });
      app.navigate(`/chat/${encodeURIComponent(room.id)}`, { room, password: pw || undefined });
    } catch (err) {
      submit.disabled = false;
      i18n.text(submit, 'form.create');
      delete error.dataset.t;
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  });

  if (matchMedia('(pointer: fine)').matches && app.session.rooms.size === 0) queueMicrotask(() => title.focus());
  return form;
}

/** Most recent activity first; rooms without messages yet keep the order they were entered in. */
function byActivity(rooms: JoinedRoom[]): JoinedRoom[] {
  return rooms
    .map((r, i) => ({ r, i, last: r.lastMessage?.id ?? 0 }))
    .sort((a, b) => b.last - a.last || a.i - b.i)
    .map((x) => x.r);
}

/** One row of the room list: title, last message, when, and how many are unread. */
function roomRow(app: App, r: JoinedRoom): HTMLElement {
  const { i18n } = app;
  const last = r.lastMessage;
  const preview = h('span', { class: 'room-last' });
  if (r.state === 'failed' && r.failure) {
    i18n.text(preview, r.failure.code === 'ROOM_FULL' ? 'home.roomFull' : 'home.roomUnavailable');
  } else if (!last) {
    i18n.text(preview, r.state === 'joining' ? 'status.short.connecting' : 'home.noMessages');
  } else if (last.type === 'ALERT') {
    preview.textContent = r.feed.alertText(last);
  } else {
    const who = last.chatterId === r.me?.id ? i18n.t('chat.you') : (last.chatter?.nickname ?? '');
    preview.textContent = `${who}: ${last.content}`;
  }
  const when = last ? h('time', { class: 'room-when', attrs: { datetime: last.sentAt }, text: i18n.shortWhen(last.sentAt) }) : null;
  const unread = r.unread;
  const badge = unread > 0 ? h('span', { class: 'unread', text: unread > 99 ? '99+' : String(unread) }) : null;
  if (badge) i18n.attr(badge, 'aria-label', 'home.unread', { n: unread });
  const href = `/chat/${encodeURIComponent(r.id)}`;
  return h(
    'li',
    { attrs: { 'data-room': r.id } },
    h(
      'a',
      {
        class: unread > 0 ? 'has-unread' : '',
        attrs: { href },
        on: {
          click: (ev) => {
            ev.preventDefault();
            app.navigate(href);
          },
        },
      },
      h(
        'span',
        { class: 'room-line' },
        h('span', { class: 'room-name' }, r.room.isPassword ? icon('lock', 14) : null, h('span', { text: r.room.title })),
        when,
      ),
      h('span', { class: 'room-line' }, preview, badge),
    ),
  );
}

export function homeView(app: App): View {
  const { i18n, session } = app;
  app.setTitle('Cola Chat');

  const list = h('ul', { class: 'room-list' });
  const rooms = h(
    'section',
    { class: 'card my-rooms', attrs: { 'aria-labelledby': 'my-rooms-heading' } },
    i18n.text(h('h2', { attrs: { id: 'my-rooms-heading' } }), 'home.myRooms'),
    list,
  );
  const render = () => {
    const mine = byActivity([...session.rooms.values()]);
    rooms.hidden = mine.length === 0;
    // Rows are rebuilt as messages arrive: a keyboard user keeps their place.
    const focused = (document.activeElement?.closest('[data-room]') as HTMLElement | null)?.dataset.room;
    list.replaceChildren(...mine.map((r) => roomRow(app, r)));
    if (focused) (list.querySelector(`[data-room="${CSS.escape(focused)}"] a`) as HTMLElement | null)?.focus();
  };
  render();
  const unsubscribe = session.subscribe(render);
  const unlang = i18n.onChange(render);

  const hero = h(
    'div',
    { class: 'hero' },
    h('p', { class: 'hero-brand', text: 'Cola Chat' }),
    i18n.text(h('p', { class: 'hero-tagline' }), 'brand.tagline'),
  );

  return {
    el: h('div', { class: 'page home' }, topBar(app), h('main', { class: 'center' }, hero, rooms, createForm(app))),
    destroy() {
      unsubscribe();
      unlang();
    },
  };
}
