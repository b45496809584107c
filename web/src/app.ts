// What every view shares: text, navigation, the toast, and hand-offs between views.

import { h } from './dom';
import { I18n } from './i18n';
import { Session } from './session';
import type { Room } from './types';

export interface View {
  el: HTMLElement;
  destroy?(): void;
}

/** What the home screen passes to the room it just opened. */
export interface Handoff {
  room: Room;
  password?: string;
}

export class App {
  readonly i18n = new I18n();
  /** Every room the person is in, over one connection, for as long as the page is open. */
  readonly session: Session;
  private handoff: Handoff | null = null;
  private baseTitle = 'Cola Chat';
  private unseen = 0;
  private toastEl = h('div', { class: 'toast', attrs: { role: 'status', 'aria-live': 'polite' } });
  private toastTimer = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly route: () => void,
  ) {
    document.body.appendChild(this.toastEl);
    this.session = new Session(this);
  }

  /** The page title; while the tab is hidden it leads with the count of new messages. */
  setTitle(title: string): void {
    this.baseTitle = title;
    this.renderTitle();
  }

  setUnseen(n: number): void {
    this.unseen = n;
    this.renderTitle();
  }

  private renderTitle(): void {
    document.title = this.unseen > 0 ? `(${this.unseen}) ${this.baseTitle}` : this.baseTitle;
  }

  navigate(path: string, handoff: Handoff | null = null): void {
    this.handoff = handoff;
    if (location.pathname !== path) history.pushState(null, '', path);
    this.route();
  }

  takeHandoff(roomId: string): Handoff | null {
    const h = this.handoff;
    this.handoff = null;
    return h && h.room.id === roomId ? h : null;
  }

  toast(text: string): void {
    this.toastEl.textContent = text;
    this.toastEl.classList.add('show');
    clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => this.toastEl.classList.remove('show'), 2600);
  }

  roomUrl(roomId: string): string {
    return `${location.origin}/chat/${encodeURIComponent(roomId)}`;
  }

  /** Copies text, with a fallback for pages that are not a secure context. */
  async copy(text: string): Promise<boolean> {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const ta = h('textarea', { attrs: { readonly: true, 'aria-hidden': 'true' }, class: 'offscreen' });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      let ok = false;
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      ta.remove();
      return ok;
    }
  }

  /** The language switch button: shows the other language's name. */
  langButton(): HTMLButtonElement {
    const { i18n } = this;
    const btn = h('button', {
      class: 'btn ghost small lang',
      attrs: { type: 'button' },
      on: { click: () => i18n.set(i18n.lang === 'ko' ? 'en' : 'ko') },
    });
    const label = h('span');
    i18n.text(label, 'lang.switch');
    i18n.attr(btn, 'aria-label', 'lang.switchLabel');
    btn.append(label);
    return btn;
  }
}
