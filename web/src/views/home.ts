// The home screen: open a room (title, capacity, optional password) and find rooms you joined.

import { ApiError, createRoom } from '../api';
import type { App, View } from '../app';
import { charLength, h, icon } from '../dom';
import { savedRooms } from '../storage';
import { topBar } from './chrome';

export const TITLE_MAX = 30;
export const PASSWORD_MAX = 12;
const CAPACITIES = [2, 4, 8, 16];

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

export function homeView(app: App): View {
  const { i18n } = app;
  document.title = 'Cola Chat';

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
    capacity.append(h('span', { class: 'seg' }, radio, label));
  }

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

  const mine = savedRooms();
  const list =
    mine.length === 0
      ? null
      : h(
          'section',
          { class: 'card my-rooms', attrs: { 'aria-labelledby': 'my-rooms-heading' } },
          i18n.text(h('h2', { attrs: { id: 'my-rooms-heading' } }), 'home.myRooms'),
          h(
            'ul',
            {},
            ...mine.map((r) =>
              h(
                'li',
                {},
                h(
                  'a',
                  {
                    attrs: { href: `/chat/${encodeURIComponent(r.roomId)}` },
                    on: {
                      click: (ev) => {
                        ev.preventDefault();
                        app.navigate(`/chat/${encodeURIComponent(r.roomId)}`);
                      },
                    },
                  },
                  h('span', { class: 'room-name', text: r.title }),
                  icon('back', 16),
                ),
              ),
            ),
          ),
        );

  const hero = h(
    'div',
    { class: 'hero' },
    h('p', { class: 'hero-brand', text: 'Cola Chat' }),
    i18n.text(h('p', { class: 'hero-tagline' }), 'brand.tagline'),
  );

  if (matchMedia('(pointer: fine)').matches) queueMicrotask(() => title.focus());
  return { el: h('div', { class: 'page home' }, topBar(app), h('main', { class: 'center' }, hero, form, list)) };
}
