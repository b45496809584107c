// Full-page outcomes: unknown, full, expired or broken rooms, and the goodbye after leaving.

import type { App, View } from '../app';
import { h, icon } from '../dom';
import type { Key } from '../i18n';
import { topBar } from './chrome';

const SCREENS: Record<string, { title: Key; text?: Key; icon: string; tone: string }> = {
  ROOM_NOT_FOUND: { title: 'screen.notFound.title', text: 'screen.notFound.text', icon: 'alert', tone: 'muted' },
  ROOM_FULL: { title: 'screen.full.title', text: 'screen.full.text', icon: 'users', tone: 'warn' },
  ROOM_EXPIRED: { title: 'screen.expired.title', text: 'screen.expired.text', icon: 'clock', tone: 'muted' },
  LEFT: { title: 'screen.left.title', text: 'screen.left.text', icon: 'exit', tone: 'muted' },
  ERROR: { title: 'screen.error.title', icon: 'alert', tone: 'warn' },
};

export interface ScreenOptions {
  /** The server's own words, shown under the title for errors without a screen of their own. */
  detail?: string;
  onRetry?: () => void;
  /** Enter the room again (after leaving it). */
  onAgain?: () => void;
}

export function screenBody(app: App, code: string, opts: ScreenOptions = {}): HTMLElement {
  const { i18n } = app;
  const s = SCREENS[code] ?? SCREENS.ERROR;
  const heading = i18n.text(h('h1', { attrs: { tabindex: '-1' } }), s.title);
  const actions = h('div', { class: 'actions' });
  if (opts.onRetry) {
    actions.append(
      i18n.text(h('button', { class: 'btn', attrs: { type: 'button' }, on: { click: () => opts.onRetry!() } }), 'common.retry'),
    );
  }
  if (opts.onAgain) {
    actions.append(
      i18n.text(h('button', { class: 'btn', attrs: { type: 'button' }, on: { click: () => opts.onAgain!() } }), 'screen.left.again'),
    );
  }
  actions.append(
    i18n.text(
      h('a', {
        class: 'btn primary',
        attrs: { href: '/' },
        on: {
          click: (ev) => {
            ev.preventDefault();
            app.navigate('/');
          },
        },
      }),
      'common.home',
    ),
  );
  const card = h(
    'section',
    { class: `card screen tone-${s.tone}`, attrs: { 'data-screen': code } },
    h('div', { class: 'screen-icon' }, icon(s.icon, 32)),
    heading,
    s.text ? i18n.text(h('p', { class: 'lead' }), s.text) : null,
    opts.detail && !s.text ? h('p', { class: 'lead', text: opts.detail }) : null,
    actions,
  );
  queueMicrotask(() => heading.focus());
  return card;
}

export function screenView(app: App, code: string, opts: ScreenOptions = {}): View {
  return { el: h('div', { class: 'page' }, topBar(app), h('main', { class: 'center' }, screenBody(app, code, opts))) };
}
