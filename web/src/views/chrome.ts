// The brand bar shown above the home, entry and error screens.

import type { App } from '../app';
import { h } from '../dom';

export function brandMark(): HTMLElement {
  // A cola glass with a speech-bubble dot, drawn in CSS.
  return h('span', { class: 'mark', attrs: { 'aria-hidden': 'true' } }, h('span', { class: 'mark-fizz' }));
}

export function topBar(app: App): HTMLElement {
  const home = h(
    'a',
    {
      class: 'brand',
      attrs: { href: '/' },
      on: {
        click: (ev) => {
          ev.preventDefault();
          app.navigate('/');
        },
      },
    },
    brandMark(),
    h('span', { class: 'brand-name', text: 'Cola Chat' }),
  );
  return h('header', { class: 'topbar' }, home, app.langButton());
}
