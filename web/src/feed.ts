// The message feed: one list ordered by message id, whatever order messages arrive in
// (history pages, live broadcasts, recovered or gap-filled messages), each shown once.

import { h, icon } from './dom';
import type { I18n, Key } from './i18n';
import type { Message } from './types';

const NEAR_BOTTOM_PX = 96;
const MINUTE_MS = 60 * 1000;

const ALERT_KEYS: Record<string, Key> = {
  join: 'alert.join',
  leave: 'alert.leave',
  rename: 'alert.rename',
  expire: 'alert.expire',
};

export interface FeedOptions {
  myId: () => string;
  loadOlder: () => void;
}

export class Feed {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly head: HTMLElement;
  private readonly olderBtn: HTMLButtonElement;
  private readonly preview: HTMLButtonElement;
  private readonly previewText: HTMLElement;
  private readonly ids: number[] = [];
  private readonly nodes = new Map<number, HTMLElement>();
  private readonly messages = new Map<number, Message>();
  private hasMore = false;
  private loading = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly i18n: I18n,
    private readonly opts: FeedOptions,
  ) {
    this.olderBtn = i18n.text(
      h('button', { class: 'btn ghost small older', attrs: { type: 'button' }, on: { click: () => opts.loadOlder() } }),
      'chat.loadOlder',
    );
    this.head = h('div', { class: 'feed-head' });
    this.list = h('ol', { class: 'messages' });
    const scroller = h('div', { class: 'feed', attrs: { tabindex: '0' } }, this.head, this.list);
    i18n.attr(scroller, 'aria-label', 'chat.feedLabel');
    this.list.setAttribute('role', 'log');
    this.list.setAttribute('aria-live', 'polite');
    this.list.setAttribute('aria-relevant', 'additions');

    this.previewText = h('span', { class: 'preview-text' });
    this.preview = h(
      'button',
      { class: 'new-preview', attrs: { type: 'button', hidden: true }, on: { click: () => this.scrollToBottom() } },
      icon('down', 16),
      i18n.text(h('strong'), 'chat.newMessage'),
      this.previewText,
    );
    this.el = h('div', { class: 'feed-wrap' }, scroller, this.preview);
    scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.renderHead();
    this.unsubscribe = i18n.onChange(() => {
      for (const t of this.list.querySelectorAll<HTMLTimeElement>('time[datetime]')) t.textContent = i18n.time(t.dateTime);
    });
  }

  private get scroller(): HTMLElement {
    return this.el.firstElementChild as HTMLElement;
  }

  destroy(): void {
    this.unsubscribe();
  }

  get oldestId(): number | undefined {
    return this.ids[0];
  }

  get newestId(): number | undefined {
    return this.ids[this.ids.length - 1];
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.messages.has(id);
  }

  isNearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(): void {
    const s = this.scroller;
    s.scrollTop = s.scrollHeight;
    this.preview.hidden = true;
  }

  setHistoryState(hasMore: boolean, loading: boolean): void {
    this.hasMore = hasMore;
    this.loading = loading;
    this.renderHead();
  }

  /** Whether the reader is close enough to the top that older messages should load. */
  wantsOlder(): boolean {
    return this.hasMore && !this.loading && this.scroller.scrollTop < 240;
  }

  private renderHead(): void {
    if (this.loading) {
      this.head.replaceChildren(this.i18n.text(h('p', { class: 'feed-note', attrs: { role: 'status' } }), 'chat.loadingOlder'));
    } else if (this.hasMore) {
      this.head.replaceChildren(this.olderBtn);
    } else {
      this.head.replaceChildren(this.i18n.text(h('p', { class: 'feed-note' }), 'chat.beginning'));
    }
  }

  private onScroll(): void {
    if (this.isNearBottom()) this.preview.hidden = true;
    if (this.wantsOlder()) this.opts.loadOlder();
  }

  /**
   * Adds messages it has not seen, each at its place by id. Older history keeps the reader's
   * view where it was; new messages follow the bottom if the reader was there, or raise the
   * "new message" preview if they were reading further up.
   */
  add(msgs: Message[], kind: 'history' | 'live'): Message[] {
    const s = this.scroller;
    const wasNearBottom = this.isNearBottom();
    const prevHeight = s.scrollHeight;
    const prevTop = s.scrollTop;
    const added: Message[] = [];
    for (const m of msgs) {
      if (typeof m?.id !== 'number' || this.messages.has(m.id)) continue;
      this.insert(m);
      added.push(m);
    }
    if (added.length === 0) return added;
    const newest = added.reduce((a, b) => (b.id > a.id ? b : a));
    const atEnd = newest.id === this.newestId;
    if (kind === 'history' && !atEnd) {
      // Prepended above the reader: keep what they were looking at in place.
      s.scrollTop = prevTop + (s.scrollHeight - prevHeight);
    } else if (wasNearBottom || added.some((m) => m.chatterId === this.opts.myId() && m.type === 'MESSAGE')) {
      this.scrollToBottom();
    } else if (kind === 'live' && atEnd) {
      this.showPreview(newest);
    }
    return added;
  }

  private showPreview(m: Message): void {
    if (m.type === 'ALERT') {
      this.previewText.textContent = this.alertText(m);
    } else {
      const who = m.chatter?.nickname ?? '';
      const text = m.content.length > 60 ? `${m.content.slice(0, 60)}…` : m.content;
      this.previewText.textContent = who ? `${who}: ${text}` : text;
    }
    this.preview.hidden = false;
  }

  private alertText(m: Message): string {
    const key = m.alert ? ALERT_KEYS[m.alert.kind] : undefined;
    if (!key || !m.alert) return m.content;
    return this.i18n.t(key, { nickname: m.alert.nickname, newNickname: m.alert.newNickname ?? '' });
  }

  private insert(m: Message): void {
    // Binary search for the first id greater than m.id.
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid] < m.id) lo = mid + 1;
      else hi = mid;
    }
    const node = this.render(m);
    const nextId = this.ids[lo];
    if (nextId === undefined) this.list.appendChild(node);
    else this.list.insertBefore(node, this.nodes.get(nextId)!);
    this.ids.splice(lo, 0, m.id);
    this.nodes.set(m.id, node);
    this.messages.set(m.id, m);
    this.restyle(lo);
    if (lo + 1 < this.ids.length) this.restyle(lo + 1);
  }

  /** Consecutive messages from one person within the same minute form a group: one nickname, one time. */
  private restyle(index: number): void {
    const m = this.messages.get(this.ids[index])!;
    const prev = index > 0 ? this.messages.get(this.ids[index - 1]) : undefined;
    const cont =
      !!prev &&
      m.type === 'MESSAGE' &&
      prev.type === 'MESSAGE' &&
      prev.chatterId === m.chatterId &&
      Math.floor(Date.parse(m.sentAt) / MINUTE_MS) === Math.floor(Date.parse(prev.sentAt) / MINUTE_MS);
    this.nodes.get(m.id)!.classList.toggle('cont', cont);
    // Within a group only the last message shows its time.
    if (prev) this.nodes.get(prev.id)!.classList.toggle('has-next', cont);
  }

  private render(m: Message): HTMLElement {
    const time = h('time', { attrs: { datetime: m.sentAt } });
    time.textContent = this.i18n.time(m.sentAt);
    if (m.type === 'ALERT') {
      const text = h('span', { class: 'alert-text' });
      const key = m.alert ? ALERT_KEYS[m.alert.kind] : undefined;
      if (key && m.alert) {
        this.i18n.text(text, key, { nickname: m.alert.nickname, newNickname: m.alert.newNickname ?? '' });
      } else {
        text.textContent = m.content;
      }
      return h('li', { class: `alert kind-${m.alert?.kind ?? 'other'}`, attrs: { 'data-id': m.id } }, text, time);
    }
    const mine = m.chatterId === this.opts.myId();
    const nick = m.chatter?.nickname ?? '';
    const who = mine
      ? this.i18n.text(h('span', { class: 'sr-only' }), 'chat.you')
      : h('span', { class: 'nick', text: nick });
    return h(
      'li',
      { class: `msg ${mine ? 'mine' : 'theirs'}`, attrs: { 'data-id': m.id } },
      who,
      h('div', { class: 'msg-row' }, h('p', { class: 'bubble', text: m.content }), time),
    );
  }
}
